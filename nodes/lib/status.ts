import type { Node } from 'node-red';
import { errorText, statusText } from './close';
import type { StatusView } from '../../core/util/status-view';

/** Uniform status text: one short line, a colour that means the same on every node. */
export class Status {
  private last = '';

  constructor(private readonly node: Node) {}

  ok(text: string): void {
    this.set('green', 'dot', text);
  }
  busy(text: string): void {
    this.set('blue', 'dot', text);
  }
  warn(text: string): void {
    this.set('yellow', 'ring', text);
  }
  error(text: string): void {
    this.set('red', 'ring', text);
  }
  idle(text: string): void {
    this.set('grey', 'ring', text);
  }
  /** A status a core controller worked out. */
  show(view: StatusView): void {
    this[view.level](view.text);
  }
  /** A failure outside any message (start-up, a timer): red status and the error in the log. */
  failed(err: unknown): void {
    this.error(statusText(err));
    this.node.error(errorText(err));
  }

  clear(): void {
    this.last = '';
    this.node.status({});
  }

  private set(fill: 'green' | 'blue' | 'yellow' | 'red' | 'grey', shape: 'dot' | 'ring', text: string): void {
    const key = `${fill}${shape}${text}`;
    if (key === this.last) return;
    this.last = key;
    this.node.status({ fill, shape, text });
  }
}
