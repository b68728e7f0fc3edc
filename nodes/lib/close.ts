import type { Node } from 'node-red';
import { errorText, shorten } from '../../core/util/status-view';

/**
 * Register a close handler that always calls `done` within `boundMs`, whatever `work` does.
 * Node-RED waits 15 s for a close; a handler that never calls back blocks every redeploy.
 */
export function onCloseBounded(node: Node, work: (removed: boolean) => Promise<void> | void, boundMs = 5000): void {
  node.on('close', (removed: boolean, done: () => void) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(() => {
      node.warn(`close took longer than ${boundMs} ms; stopped waiting`);
      finish();
    }, boundMs);
    Promise.resolve()
      .then(() => work(removed))
      .catch((err: unknown) => node.error(`error while closing: ${errorText(err)}`))
      .finally(finish);
  });
}

export { errorText };

/** An error as status text: short enough to read under a node, with the telling part kept. */
export function statusText(err: unknown, max = 60): string {
  return shorten(errorText(err).replace(/^invalid device config: /, 'config: '), max);
}
