import { phrasedView, type Phrase, type StatusView } from '../util/status-view';

/** How flm-in's connection to the other broker stands, as its status tells it. */
export interface ImportConnectionState {
  connected: boolean;
  /** why the broker refused the connection, if it did */
  refused?: string | undefined;
  lastTrouble?: string | undefined;
}

/**
 * flm-in's status line as phrases of its catalog: the connection, sensors learnt, readings
 * taken and rejects. The broker's and the network's own words stay as they are.
 */
export function importStatusView(
  c: ImportConnectionState,
  sensors: number,
  readings: number,
  rejects: number,
): StatusView {
  if (c.refused)
    return phrasedView('error', [{ key: 'refused', en: `broker refused: ${c.refused}`, params: { why: c.refused } }]);
  const counts: Phrase[] = [
    { key: 'sensors', en: `${sensors} sensors`, params: { count: sensors } },
    { key: 'readings', en: `${readings} readings`, params: { count: readings } },
  ];
  if (rejects) counts.push({ key: 'rejects', en: `${rejects} rejects`, params: { count: rejects } });
  if (c.connected) return phrasedView('ok', [{ key: 'connected', en: 'connected' }, ...counts]);
  const down: Phrase = c.lastTrouble
    ? { key: 'disconnectedWhy', en: `disconnected (${c.lastTrouble})`, params: { why: c.lastTrouble } }
    : { key: 'disconnected', en: 'disconnected' };
  return phrasedView('warn', [down, ...counts]);
}
