/**
 * The test helper spies on the Node prototype, so `node.error` and `node.status` record the
 * calls of every node in the flow. These keep the calls of one node.
 */
export function callsOn(node: any, method: 'error' | 'warn' | 'status'): unknown[][] {
  return node[method].getCalls().filter((c: any) => c.thisValue === node).map((c: any) => c.args);
}

export const errorsOf = (node: any): string[] => callsOn(node, 'error').map((a) => String(a[0]));
export const warningsOf = (node: any): string[] => callsOn(node, 'warn').map((a) => String(a[0]));
export const lastStatusOf = (node: any): { fill?: string; text?: string } =>
  (callsOn(node, 'status').at(-1)?.[0] ?? {}) as { fill?: string; text?: string };
