import type { Node } from 'node-red';
import type { WriterEvent } from '../../core/sinks/mysql';

/** The MySQL writer's news as log lines; true for a failure, which the status shows at once. */
export function logWriterEvent(node: Node, e: WriterEvent): boolean {
  if (e.kind === 'ready') node.log(`tables ${e.tables}; writing`);
  else if (e.kind === 'recovered' && e.replayed) node.log(`the database is back: ${e.replayed} spooled rows written`);
  else if (e.kind === 'failed') {
    const text = `${e.error.message}; readings kept in the spool, retry in ${Math.round(e.retryInMs / 100) / 10} s`;
    // Unreachable mends itself; a password, a grant or a table needs a person.
    if (e.error.kind === 'unreachable') node.warn(text);
    else node.error(text);
    return true;
  }
  return false;
}
