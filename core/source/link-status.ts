import { phrasedView, type Phrase, type StatusView } from '../util/status-view';

/**
 * A serial or TCP link's own status as phrases of the node's catalog (flm-p1 and flm-board both
 * carry these keys): silence, a failing transport, no data yet. `why` is the transport's own words.
 */
export function linkStatusView(
  s:
    | { kind: 'silent'; seconds: number; why: string }
    | { kind: 'failing'; why: string; retrySeconds: number }
    | { kind: 'waiting'; connected: boolean },
): StatusView {
  if (s.kind === 'silent') {
    const parts: Phrase[] = [{ key: 'noData', en: `no data for ${s.seconds} s`, params: { seconds: s.seconds } }];
    if (s.why) parts.push({ key: 'why', en: s.why });
    return phrasedView('warn', parts);
  }
  if (s.kind === 'failing')
    return phrasedView('warn', [
      { key: 'why', en: s.why },
      { key: 'retry', en: `retry in ${s.retrySeconds} s`, params: { seconds: s.retrySeconds } },
    ]);
  return s.connected
    ? phrasedView('idle', [
        { key: 'connected', en: 'connected' },
        { key: 'waiting', en: 'waiting' },
      ])
    : phrasedView('idle', [{ key: 'connecting', en: 'connecting' }]);
}
