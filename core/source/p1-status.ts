import { phrasedView, type Phrase, type StatusView } from '../util/status-view';

/** Telegrams flm-p1 counted, by outcome. */
export interface P1Counts {
  good: number;
  badCrc: number;
  unparsable: number;
  decryptFailed: number;
  backlogDropped: number;
}

/** flm-p1's count line as phrases of its catalog; red when the last telegram was not good. */
export function p1CountsView(s: P1Counts, lastOk: boolean): StatusView {
  const parts: Phrase[] = [{ key: 'good', en: `${s.good} ok`, params: { count: s.good } }];
  if (s.badCrc) parts.push({ key: 'badCrc', en: `${s.badCrc} crc`, params: { count: s.badCrc } });
  if (s.unparsable) parts.push({ key: 'unparsable', en: `${s.unparsable} bad`, params: { count: s.unparsable } });
  if (s.decryptFailed) parts.push({ key: 'badKey', en: `${s.decryptFailed} key`, params: { count: s.decryptFailed } });
  // A backlog read in one go (a dongle reconnecting) keeps its newest telegram only: said, not hidden.
  if (s.backlogDropped)
    parts.push({ key: 'skipped', en: `${s.backlogDropped} skipped`, params: { count: s.backlogDropped } });
  return phrasedView(lastOk ? 'ok' : 'error', parts);
}

/** flm-p1 fed by messages rather than a port: nothing came yet. */
export function p1WaitingView(): StatusView {
  return phrasedView('idle', [{ key: 'waitingTelegrams', en: 'waiting for telegrams' }]);
}
