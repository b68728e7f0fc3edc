import { createServer } from 'node:net';
import { tempDir } from './temp-dir';

/**
 * node-red-node-test-helper, from this checkout's node_modules or, for the Node-RED 5 run
 * (`npm run test:nr5`), from the folder named by FLM_NR_HELPER, whose node-red it then uses.
 */
const helperPath = require.resolve(process.env.FLM_NR_HELPER || 'node-red-node-test-helper');
export const helper = require(helperPath) as any;
/** The node-red the helper runs (4.x from this checkout, or 5.x for test:nr5). */
export const nodeRedPath = require.resolve('node-red', { paths: [helperPath] });
helper.init(nodeRedPath);

const load = (name: string) => require(`../../nodes/${name}`).default;
export const flmNodes = [
  'flm-device',
  'flm-simulator',
  'flm-sensor',
  'flm-broker',
  'flm-tmpo',
  'flm-p1',
  'flm-homeassistant',
  'flm-upload',
  'flm-openhab',
  'flm-in',
  'flm-mysql',
  'flm-board',
  'flm-pulse',
  'flm-dashboard',
  'flm-server',
  'flm-server-bridge',
].map(load);

const TAB = 'tab1';
/**
 * Every node gets the tab, or Catch and Status nodes never see it, and a position: without
 * x/y Node-RED takes a node for a config node.
 */
export function onTab(nodes: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return [
    { id: TAB, type: 'tab', label: 'test' },
    ...nodes.map((n, i) => (n.type === 'flm-device' ? n : { z: TAB, x: 100 + 10 * i, y: 100, ...n })),
  ];
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 10_000,
  stepMs = 20,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Collect what arrives at a helper node. */
export function collect(id: string): any[] {
  const got: any[] = [];
  helper.getNode(id).on('input', (msg: any) => got.push(msg));
  return got;
}

let seq = 0;
/**
 * Deliver a message and resolve when the node calls done(), as a Complete node (id `completeId`,
 * scoped to the node) sees it: for a sink, the reading is durable by then.
 */
export function receiveDone(node: any, msg: Record<string, unknown>, completeId = 'completed'): Promise<void> {
  const mark = ++seq;
  return new Promise((resolve) => {
    const completed = helper.getNode(completeId);
    const onInput = (m: any) => {
      if (m.mark !== mark) return;
      completed.off('input', onInput);
      resolve();
    };
    completed.on('input', onInput);
    node.receive({ ...msg, mark });
  });
}

/** Every status a node sets, in order. */
export function statuses(id: string): Array<{ fill?: string; shape?: string; text?: string }> {
  const got: any[] = [];
  helper.getNode(id).on('call:status', (call: any) => got.push(call.args[0]));
  return got;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export { tempDir };

/** Run a test body with a fresh data dir; the flow is unloaded before the dir goes. */
export async function withDataDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    await fn(dir.path);
  } finally {
    await helper.unload();
    await dir.remove();
  }
}

/**
 * helper.setFlows, patient: the test helper gives the redeployed flows 300 ms to start and then
 * rejects, although the deploy goes on. A full redeploy closes every node first (a bridge, a
 * broker), which on a loaded 2-core machine takes longer; here the start is awaited for up to 30 s.
 */
export async function redeploy(
  flows: Array<Record<string, unknown>>,
  type: 'full' | 'flows' | 'nodes',
  creds: Record<string, unknown> = {},
): Promise<void> {
  const events = helper._events as import('node:events').EventEmitter;
  let seen = false;
  const onStarted = () => (seen = true);
  events.on('flows:started', onStarted);
  try {
    await helper.setFlows(flows, type, creds);
  } catch (err) {
    if (!(err instanceof Error) || err.message !== 'timeout waiting event') throw err;
    await waitFor(`the flows started after a ${type} deploy`, () => seen, 30_000);
  } finally {
    events.off('flows:started', onStarted);
  }
}
