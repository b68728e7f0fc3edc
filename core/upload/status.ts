import type { BridgeState } from './bridge';

/** What the upload node shows: one line, and a colour for the worst part of it. */
export interface StatusLine {
  level: 'ok' | 'busy' | 'warn' | 'error';
  text: string;
}

export interface HttpPart {
  depth: number;
  lastSuccess?: number;
  lastError?: string;
  authFailed: boolean;
  retrying: boolean;
  /** counters and offers the node appends (" · 3 fractional · upgrade 251 offered") */
  extra: string;
}

const RANK: Record<StatusLine['level'], number> = { ok: 0, busy: 1, warn: 2, error: 3 };

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function httpStatus(h: HttpPart, hhmm: (ms: number) => string): StatusLine {
  const queued = `${h.depth} queued`;
  if (h.authFailed) return { level: 'error', text: `${queued} · authentication failed${h.extra}` };
  if (h.retrying)
    return { level: 'warn', text: `${queued} · retrying: ${clip(h.lastError ?? 'failed', 40)}${h.extra}` };
  return {
    level: 'ok',
    text: `${queued}${h.lastSuccess !== undefined ? ` · ok ${hhmm(h.lastSuccess)}` : ''}${h.extra}`,
  };
}

/** `alone`: no HTTP part beside it, so the bridge shows its own last success. */
export function bridgeStatus(b: BridgeState, hhmm: (ms: number) => string, alone: boolean): StatusLine {
  const counts = `${b.held ? ` · ${b.held} held` : ''}${b.dropped ? ` · ${b.dropped} dropped` : ''}`;
  if (b.phase === 'connected') {
    return {
      level: 'ok',
      text: `bridge up${alone && b.lastSent !== undefined ? ` · ok ${hhmm(b.lastSent)}` : ''}${counts}`,
    };
  }
  if (b.refused && b.lastError)
    return { level: 'error', text: `bridge refused: ${clip(b.lastError.message, 48)}${counts}` };
  if (b.lastError) return { level: 'warn', text: `bridge down: ${clip(b.lastError.message, 40)}${counts}` };
  return { level: 'busy', text: `bridge connecting${counts}` };
}

export function joinStatus(parts: StatusLine[]): StatusLine {
  let level: StatusLine['level'] = 'ok';
  for (const p of parts) if (RANK[p.level] > RANK[level]) level = p.level;
  return { level, text: parts.map((p) => p.text).join(' · ') };
}
