import type { Node, NodeMessage } from 'node-red';

/** What a core controller hands a node: messages it built, and lines for the log. */

/** A message a controller built (topic, payload and its own fields) as Node-RED's type. */
export const asMessage = (out: object): NodeMessage => out as NodeMessage;

/** A controller's log line to the node's log at its level. */
export const logTo =
  (node: Node) =>
  (level: 'log' | 'warn' | 'error', text: string): void =>
    node[level](text);
