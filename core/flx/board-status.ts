import type { Phrase } from '../util/status-view';
import type { BoardTimeDecision } from './flm03-readings';

/**
 * flm-board's count line as phrases of its catalog (nodes/locales/<lang>/flm-board.json, under
 * "flm-board.status"), so the node says it in the runtime's language. Each protocol counts in its
 * own words: an FLM03 board sends frames by itself, an FLM02 board answers polls with replies.
 */

/** FLM03: good frames, bad ones, ones that passed the checksum but not the plausibility checks, batches. */
export function flm03Summary(s: { frames: number; bad: number; batches: number }, implausible: number): Phrase[] {
  const parts: Phrase[] = [{ key: 'frames', en: `${s.frames} frames`, params: { count: s.frames } }];
  if (s.bad) parts.push({ key: 'bad', en: `${s.bad} bad`, params: { count: s.bad } });
  if (implausible) parts.push({ key: 'implausible', en: `${implausible} implausible`, params: { count: implausible } });
  parts.push(batches(s.batches));
  return parts;
}

/** FLM02: good replies, bad ones with how many of them went unanswered, batches. */
export function flm02Summary(s: { frames: number; bad: number; timeouts: number; batches: number }): Phrase[] {
  const parts: Phrase[] = [{ key: 'replies', en: `${s.frames} replies`, params: { count: s.frames } }];
  if (s.bad && s.timeouts)
    parts.push({
      key: 'badUnanswered',
      en: `${s.bad} bad (${s.timeouts} unanswered)`,
      params: { count: s.bad, unanswered: s.timeouts },
    });
  else if (s.bad) parts.push({ key: 'bad', en: `${s.bad} bad`, params: { count: s.bad } });
  parts.push(batches(s.batches));
  return parts;
}

function batches(count: number): Phrase {
  return { key: 'batches', en: `${count} batches`, params: { count } };
}

/** What the last clock report did, said after the counts; undefined when it changed nothing. */
export function boardClockPhrase(action: BoardTimeDecision['action']): Phrase | undefined {
  if (action === 'adopt-board-clock') return { key: 'boardClock', en: 'board clock' };
  if (action === 'step-board') return { key: 'clockSet', en: 'clock set' };
  return undefined;
}
