import { phrasedView, type Phrase, type StatusView } from '../util/status-view';
import type { PulseInputStats } from './pulse-input';

/**
 * What flm-pulse shows under itself: its label, pulses counted, edges debounced and rejects,
 * as phrases of flm-pulse's catalog so the line reads in the runtime's language.
 */
export function pulseStatusView(label: string, s: Readonly<PulseInputStats>, rejects: number): StatusView {
  const name: Phrase = { key: 'label', en: label, params: { label } };
  if (s.counted === 0 && rejects === 0) return phrasedView('idle', [name, { key: 'waiting', en: 'waiting' }]);
  const parts: Phrase[] = [name, { key: 'pulses', en: `${s.counted} pulses`, params: { count: s.counted } }];
  if (s.debounced) parts.push({ key: 'debounced', en: `${s.debounced} debounced`, params: { count: s.debounced } });
  if (rejects) parts.push({ key: 'rejects', en: `${rejects} rejects`, params: { count: rejects } });
  return phrasedView('ok', parts);
}
