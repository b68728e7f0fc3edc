/** What a node shows under itself, as a controller works it out: a level with a fixed colour, one short line. */
export interface StatusView {
  level: 'ok' | 'warn' | 'error' | 'idle';
  text: string;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Text cut to `max` characters with an ellipsis: status lines are read under a node. */
export function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
