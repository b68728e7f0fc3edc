/**
 * One part of a status line in words a translation can replace: `key` names it in a node's
 * message catalog (nodes/locales/<lang>/<node>.json, under "<type>.status"), `params` fill its
 * `__name__` places, and `en` is the part in English, for a node without a catalog entry.
 */
export interface Phrase {
  key: string;
  en: string;
  params?: Record<string, string | number>;
}

/** What a node shows under itself, as a controller works it out: a level with a fixed colour, one short line. */
export interface StatusView {
  level: 'ok' | 'warn' | 'error' | 'idle';
  text: string;
  /** the same line as phrases joined by " · ", when the controller offers it for translation */
  phrases?: Phrase[];
}

/** The separator of the parts of a status line. */
export const STATUS_SEPARATOR = ' · ';

/** A status line made of phrases; its `text` is the English. */
export function phrasedView(level: StatusView['level'], phrases: Phrase[]): StatusView {
  return { level, text: phrases.map((p) => p.en).join(STATUS_SEPARATOR), phrases };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Text cut to `max` characters with an ellipsis: status lines are read under a node. */
export function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Watts as a person reads them under a node: "850 W", "1.23 kW", "-2.40 kW". */
export function formatPower(watts: number): string {
  return Math.abs(watts) < 1000 ? `${Math.round(watts)} W` : `${(watts / 1000).toFixed(2)} kW`;
}
