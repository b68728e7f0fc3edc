import type { NodeMessage } from 'node-red';

/** A message a core controller built (topic, payload and its own fields) as Node-RED's type. */
export const asMessage = (out: object): NodeMessage => out as NodeMessage;
