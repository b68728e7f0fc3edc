/**
 * The test helper spies on the Node prototype, so `node.error` and `node.status` record the
 * calls of every node in the flow. These keep the calls of one node.
 */
export function callsOf(node: any, method: 'error' | 'warn' | 'log' | 'status'): any[][] {
  return node[method]
    .getCalls()
    .filter((c: any) => c.thisValue === node)
    .map((c: any) => c.args);
}

export type NodeStatus = { fill?: string; shape?: string; text: string };

export const errorsOf = (node: any): string[] => callsOf(node, 'error').map((a) => String(a[0]));
export const warningsOf = (node: any): string[] => callsOf(node, 'warn').map((a) => String(a[0]));
/** The status a node shows now (text '' before its first or without one), set in its constructor too. */
export const lastStatusOf = (node: any): NodeStatus => ({ text: '', ...callsOf(node, 'status').at(-1)?.[0] });
