import type { NodeMessage, NodeMessageInFlow } from 'node-red';

export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type Done = (err?: Error) => void;
export type Handler = (msg: NodeMessageInFlow, send: Send, done: Done) => void;

/**
 * Messages that arrive while a node is still starting (opening files, binding ports) wait here,
 * bounded, and go through the handler in order once it is ready; if starting fails they all
 * end with that error. After that the gate is a straight pass-through.
 */
export class StartupQueue {
  private pending: Array<[NodeMessageInFlow, Send, Done]> = [];
  private handler?: Handler;
  private failure?: Error;

  constructor(private readonly what: string, private readonly max = 10_000) {}

  input(msg: NodeMessageInFlow, send: Send, done: Done): void {
    if (this.failure) return done(this.failure);
    if (this.handler) return this.handler(msg, send, done);
    if (this.pending.length >= this.max) return done(new Error(`${this.what} is still starting and ${this.max} messages are already waiting`));
    this.pending.push([msg, send, done]);
  }

  ready(handler: Handler): void {
    this.handler = handler;
    for (const [m, s, d] of this.pending.splice(0)) handler(m, s, d);
  }

  fail(err: Error): void {
    this.failure = err;
    for (const [, , d] of this.pending.splice(0)) d(err);
  }

  get failed(): Error | undefined {
    return this.failure;
  }
}
