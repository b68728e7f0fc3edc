import type { Node, NodeAPI } from 'node-red';
import { errorText, statusText } from './close';
import { STATUS_SEPARATOR, type Phrase, type StatusView } from '../../core/util/status-view';

/** A status text in the runtime's language, or undefined when the node's catalog lacks the key. */
export type Translate = (key: string, params?: Record<string, string | number>) => string | undefined;

/**
 * Status texts from the node set's message catalog (nodes/locales/<lang>/<set>.json, key
 * "<type>.status.<key>"), in the language of the Node-RED runtime (its `lang` setting, else the
 * system locale; en-US when the language has no catalog).
 */
export function statusTranslator(RED: NodeAPI, type: string): Translate {
  return (key, params) => {
    const full = `${type}.status.${key}`;
    const text = (RED._ as (k: string, p?: object) => string)(full, params);
    return typeof text === 'string' && text !== full && !text.endsWith(full) ? text : undefined;
  };
}

/** Uniform status text: one short line, a colour that means the same on every node. */
export class Status {
  private last = '';

  constructor(
    private readonly node: Node,
    private readonly translate?: Translate,
  ) {}

  /** `english` said in the runtime's language when the node's catalog has `key`. */
  say(key: string, english: string, params?: Record<string, string | number>): string {
    return this.translate?.(key, params) ?? english;
  }

  /** A phrase a controller offers, in the runtime's language. */
  phrase(p: Phrase): string {
    return this.say(p.key, p.en, p.params);
  }

  /** A line of phrases in the runtime's language, parts joined as every status line joins them. */
  line(phrases: readonly Phrase[]): string {
    return phrases.map((p) => this.phrase(p)).join(STATUS_SEPARATOR);
  }

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
  /** A status a core controller worked out, in the runtime's language where it offers phrases. */
  show(view: StatusView): void {
    const text = view.phrases ? this.line(view.phrases) : view.text;
    this[view.level](text);
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

/** "3 rejects: why" after a bad message, in the runtime's language (key "rejectsWhy"). */
export function rejectsWhy(status: Status, count: number, why: string): string {
  return status.say('rejectsWhy', `${count} rejects: ${why}`, { count, why });
}
