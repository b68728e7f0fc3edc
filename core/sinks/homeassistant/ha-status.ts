import { phrasedView, type Phrase, type StatusView } from '../../util/status-view';

/**
 * flm-homeassistant's status line as phrases of its catalog: entities announced under the
 * discovery prefix, and why Home Assistant shows them unavailable when it does.
 */
export function haStatusView(entities: number, prefix: string, sourceOnline: boolean, stale: boolean): StatusView {
  const parts: Phrase[] = [
    { key: 'entities', en: `${entities} entities`, params: { count: entities } },
    { key: 'prefix', en: prefix, params: { prefix } },
  ];
  if (!sourceOnline) return phrasedView('warn', [{ key: 'sourceOffline', en: 'source offline' }, ...parts]);
  if (stale) return phrasedView('warn', [{ key: 'noReadings', en: 'no readings' }, ...parts]);
  return phrasedView('ok', parts);
}
