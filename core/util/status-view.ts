/** What a node shows under itself, as a controller works it out: a level with a fixed colour, one short line. */
export interface StatusView {
  level: 'ok' | 'warn' | 'error' | 'idle';
  text: string;
}
