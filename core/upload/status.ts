import { STATUS_SEPARATOR, type Phrase } from '../util/status-view';
import type { BridgeState } from './bridge';
import type { UpgradeOffer } from './heartbeat';

/**
 * What the upload node shows: one line, and a colour for the worst part of it. `phrases` are the
 * parts of the line as keys of flm-upload's catalog (nodes/locales/<lang>/flm-upload.json, under
 * "flm-upload.status"), so the node says them in the runtime's language; `text` is the English.
 */
export interface StatusLine {
  level: 'ok' | 'busy' | 'warn' | 'error';
  text: string;
  phrases: Phrase[];
}

/** Counters passed over, by the reason the status counts them under. */
export type NotUploaded = 'unknownSensor' | 'notNewer' | 'badTime' | 'badCounter' | 'badSid';

export interface HttpPart {
  depth: number;
  lastSuccess?: number;
  lastError?: string;
  authFailed: boolean;
  retrying: boolean;
  /** whole counters never uploaded because they were fractional */
  fractional: number;
  /** counters passed over, by reason; a reason with none is left out */
  notUploaded: Partial<Record<NotUploaded, number>>;
  /** what the server's last heartbeat offered (reported, never acted on) */
  offer?: UpgradeOffer | undefined;
}

const RANK: Record<StatusLine['level'], number> = { ok: 0, busy: 1, warn: 2, error: 3 };

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function line(level: StatusLine['level'], phrases: Phrase[]): StatusLine {
  return { level, text: phrases.map((p) => p.en).join(STATUS_SEPARATOR), phrases };
}

const lastOk = (time: string): Phrase => ({ key: 'lastOk', en: `ok ${time}`, params: { time } });

/** The counts and the offer that follow the HTTP part, each left out when there is none. */
function httpCounts(h: HttpPart): Phrase[] {
  const n = h.notUploaded;
  const out: Phrase[] = [];
  if (h.fractional) out.push({ key: 'fractional', en: `${h.fractional} fractional`, params: { count: h.fractional } });
  if (n.unknownSensor)
    out.push({ key: 'unknownSensor', en: `${n.unknownSensor} unknown sensor`, params: { count: n.unknownSensor } });
  if (n.notNewer) out.push({ key: 'notNewer', en: `${n.notNewer} not newer`, params: { count: n.notNewer } });
  if (n.badTime) out.push({ key: 'badTime', en: `${n.badTime} bad time`, params: { count: n.badTime } });
  if (n.badCounter) out.push({ key: 'badCounter', en: `${n.badCounter} bad counter`, params: { count: n.badCounter } });
  if (n.badSid) out.push({ key: 'badSid', en: `${n.badSid} bad sid`, params: { count: n.badSid } });
  const o = h.offer;
  if (o?.kind === 'upgrade')
    out.push({ key: 'upgradeOffered', en: `upgrade ${o.version} offered`, params: { version: o.version } });
  else if (o?.kind === 'reboot') out.push({ key: 'rebootAsked', en: 'reboot asked' });
  return out;
}

export function httpStatus(h: HttpPart, hhmm: (ms: number) => string): StatusLine {
  const queued: Phrase = { key: 'queued', en: `${h.depth} queued`, params: { count: h.depth } };
  const counts = httpCounts(h);
  if (h.authFailed) return line('error', [queued, { key: 'authFailed', en: 'authentication failed' }, ...counts]);
  if (h.retrying) {
    // the error stays in the words of the network or the server
    const why = h.lastError ? clip(h.lastError, 40) : undefined;
    const retrying: Phrase = why
      ? { key: 'retryingWhy', en: `retrying: ${why}`, params: { why } }
      : { key: 'retrying', en: 'retrying' };
    return line('warn', [queued, retrying, ...counts]);
  }
  return line('ok', [queued, ...(h.lastSuccess !== undefined ? [lastOk(hhmm(h.lastSuccess))] : []), ...counts]);
}

/** `alone`: no HTTP part beside it, so the bridge shows its own last success. */
export function bridgeStatus(b: BridgeState, hhmm: (ms: number) => string, alone: boolean): StatusLine {
  const counts: Phrase[] = [];
  if (b.held) counts.push({ key: 'held', en: `${b.held} held`, params: { count: b.held } });
  if (b.dropped) counts.push({ key: 'dropped', en: `${b.dropped} dropped`, params: { count: b.dropped } });
  if (b.phase === 'connected') {
    const ok = alone && b.lastSent !== undefined ? [lastOk(hhmm(b.lastSent))] : [];
    return line('ok', [{ key: 'bridgeUp', en: 'bridge up' }, ...ok, ...counts]);
  }
  if (b.refused && b.lastError) {
    const why = clip(b.lastError.message, 48);
    return line('error', [{ key: 'bridgeRefused', en: `bridge refused: ${why}`, params: { why } }, ...counts]);
  }
  if (b.lastError) {
    const why = clip(b.lastError.message, 40);
    return line('warn', [{ key: 'bridgeDown', en: `bridge down: ${why}`, params: { why } }, ...counts]);
  }
  return line('busy', [{ key: 'bridgeConnecting', en: 'bridge connecting' }, ...counts]);
}

export function joinStatus(parts: StatusLine[]): StatusLine {
  let level: StatusLine['level'] = 'ok';
  for (const p of parts) if (RANK[p.level] > RANK[level]) level = p.level;
  return line(
    level,
    parts.flatMap((p) => p.phrases),
  );
}
