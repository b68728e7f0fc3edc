import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/support/paths';
import { freePort, tempDir } from '../test/support/nodered';
import { startEmbeddedNodeRed, type EmbeddedNodeRed } from '../test/support/e2e/node-red-embedded';
import { deployFlows } from '../test/support/e2e/admin-api';

/**
 * A real Node-RED runtime with this checkout installed (as `npm start` runs it): benchmarks
 * measure what users run, not the test helper, whose spies on every send would dominate.
 */
export async function benchRuntime(): Promise<{
  red: EmbeddedNodeRed;
  deploy: (flows: unknown[]) => Promise<void>;
  dataDir: string;
  stop: () => Promise<void>;
}> {
  const dir = await tempDir('flm-bench-');
  const userDir = join(dir.path, 'user');
  mkdirSync(join(userDir, 'node_modules'), { recursive: true });
  writeFileSync(join(userDir, 'package.json'), '{"name":"bench","private":true}');
  symlinkSync(repoRoot, join(userDir, 'node_modules', 'node-red-contrib-fluksometer'), 'dir');
  const red = await startEmbeddedNodeRed({
    userDir,
    port: await freePort(),
    logLevel: 'error',
    dataDir: join(dir.path, 'data'),
  });
  return {
    red,
    dataDir: join(dir.path, 'data'),
    deploy: async (flows) => {
      await deployFlows(red.baseUrl, flows, { token: red.token });
    },
    stop: async () => {
      await red.stop();
      await dir.remove();
    },
  };
}
