import type { NodeMessage, NodeMessageInFlow } from 'node-red';
import { RateLimiter } from '../../core/link/rate-limit';

export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type Done = (err?: Error) => void;
export type Handler = (msg: NodeMessageInFlow, send: Send, done: Done) => void;

/**
 * Messages that arrive while a node is still starting (opening files, binding ports) wait here,
 * bounded, and go through the handler in order once it is ready. If starting fails they all
 * end with that error, and so do later ones (and those beyond the bound): the first each
 * minute with the error and how many more were refused since (a reading a second must not
 * be a log line a second), the others quietly, the node's red status saying why. Once ready
 * the gate is a straight pass-through.
 */
export class StartupQueue {
  private pending: Array<[NodeMessageInFlow, Send, Done]> = [];
  private handler?: Handler;
  private failure?: Error;
  private readonly refusals = new RateLimiter(60_000);

  constructor(
    private readonly what: string,
    private readonly max = 10_000,
  ) {}

  input(msg: NodeMessageInFlow, send: Send, done: Done): void {
    if (this.failure) return this.refuse(done, this.failure);
    if (this.handler) return this.handler(msg, send, done);
    if (this.pending.length >= this.max)
      return this.refuse(
        done,
        new Error(`${this.what} is still starting and ${this.max} messages are already waiting`),
      );
    this.pending.push([msg, send, done]);
  }

  ready(handler: Handler): void {
    this.handler = handler;
    for (const [m, s, d] of this.pending.splice(0)) handler(m, s, d);
  }

  fail(err: Error): void {
    this.failure = err;
    for (const [, , d] of this.pending.splice(0)) this.refuse(d, err);
  }

  private refuse(done: Done, err: Error): void {
    const text = this.refusals.take(err === this.failure ? 'failed' : 'full', err.message);
    if (text === null) return done();
    done(text === err.message ? err : new Error(text));
  }

  get failed(): Error | undefined {
    return this.failure;
  }
}
