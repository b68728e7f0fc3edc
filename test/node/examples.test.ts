import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { helper, flmNodes, waitFor, collect, freePort, tempDir, nodeRedPath } from '../support/nodered';
import { repoRoot } from '../support/paths';

afterEach(async () => {
  await helper.unload();
});

const examplesDir = join(repoRoot, 'examples');
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.json'));
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const ourTypes = Object.keys(pkg['node-red'].nodes as Record<string, string>);
const configTypes = ourTypes.filter((t) =>
  /category:\s*'config'/.test(readFileSync(join(repoRoot, 'nodes', `${t}.html`), 'utf8')),
);

// The core nodes the examples use, from the same node-red the helper runs.
const coreDir = join(
  dirname(require.resolve('@node-red/nodes/package.json', { paths: [dirname(nodeRedPath)] })),
  'core',
);
const core = ['common/20-inject.js', 'common/21-debug.js', 'common/90-comment.js', 'function/15-change.js'].map((f) =>
  require(join(coreDir, f)),
);

test('every node of the package is used in at least one example (Flow Library check N02)', () => {
  const used = new Set(
    examples.flatMap((f) =>
      (JSON.parse(readFileSync(join(examplesDir, f), 'utf8')) as Array<{ type: string }>).map((n) => n.type),
    ),
  );
  for (const t of ourTypes.filter((x) => !configTypes.includes(x))) assert.ok(used.has(t), `${t} has no example`);
});

for (const file of examples) {
  test(`example "${file}" deploys and runs without an error`, async () => {
    const dir = await tempDir();
    try {
      const flow = JSON.parse(readFileSync(join(examplesDir, file), 'utf8')) as Array<Record<string, any>>;
      for (const n of flow) {
        if (n.type === 'flm-device') n.dataDir = dir.path;
        if (n.type === 'flm-broker') {
          n.port = String(await freePort());
          n.wsPort = n.wsPort ? String(await freePort()) : '';
        }
        if (n.type === 'flm-simulator') n.speed = '50';
        if (n.type === 'flm-server') Object.assign(n, { dataDir: dir.path, apiPort: String(await freePort()) });
        if (n.type === 'flm-server-bridge') Object.assign(n, { dataDir: dir.path, port: String(await freePort()) });
        // Only loopback here: an FLM that is not there (the node shows disconnected, not an error).
        if (n.type === 'flm-in') n.url = `mqtt://127.0.0.1:${await freePort()}`;
      }
      const tab = flow.find((n) => n.type === 'tab')!.id;
      // The helper registers a core module once per node of its type, so a second Catch node
      // would fail to load: reuse the example's own Catch nodes when it has some.
      const catches = flow.filter((n) => n.type === 'catch');
      if (catches.length) for (const c of catches) c.wires[0].push('probe.out');
      else
        flow.push({
          id: 'probe.catch',
          type: 'catch',
          z: tab,
          x: 1,
          y: 1,
          scope: null,
          uncaught: false,
          wires: [['probe.out']],
        });
      flow.push({ id: 'probe.out', type: 'helper', z: tab, x: 2, y: 2 });
      await helper.load([...core, ...flmNodes], flow, { 'ex3.broker': { username: 'flm', password: 'example' } });
      const errors = collect('probe.out');
      const flmIds = flow.filter((n) => ourTypes.includes(n.type) && !configTypes.includes(n.type)).map((n) => n.id);
      for (const id of flmIds) assert.ok(helper.getNode(id), `${id} was created`);
      // Let it run: the simulator ticks, injects fire once.
      await new Promise((r) => setTimeout(r, 1500));
      for (const id of flmIds) {
        const node = helper.getNode(id);
        assert.equal(node.error.called, false, `${id}: ${node.error.called ? node.error.firstCall.args[0] : ''}`);
        await waitFor(
          `${id} to show a non-red status`,
          () => node.status.called && node.status.lastCall.args[0].fill !== 'red',
          5000,
        );
      }
      assert.deepEqual(
        errors.map((m) => m.error.message),
        [],
      );
    } finally {
      await dir.remove();
    }
  });
}
