import type { EventEmitter } from 'node:events';

/**
 * Everything a node adds to the world (timers, listeners on shared emitters) goes through
 * here, so close() can take it all back: no duplicate listeners or stray timers after a
 * redeploy.
 */
export class Resources {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listeners: Array<() => void> = [];
  private disposed = false;

  /** A timer whose callback errors go to `onError` instead of crashing the runtime. */
  interval(ms: number, fn: () => void | Promise<void>, onError: (err: unknown) => void): NodeJS.Timeout {
    const t = setInterval(() => guard(fn, onError), ms);
    this.timers.add(t);
    return t;
  }

  timeout(ms: number, fn: () => void | Promise<void>, onError: (err: unknown) => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      guard(fn, onError);
    }, ms);
    this.timers.add(t);
    return t;
  }

  clear(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a listener takes whatever its emitter passes, as EventEmitter's own signature says
  on(emitter: EventEmitter, event: string, fn: (...args: any[]) => void): void {
    emitter.on(event, fn);
    this.listeners.push(() => emitter.off(event, fn));
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    this.disposed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const off of this.listeners.splice(0)) off();
  }
}

function guard(fn: () => void | Promise<void>, onError: (err: unknown) => void): void {
  try {
    const r = fn();
    if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch(onError);
  } catch (err) {
    onError(err);
  }
}
