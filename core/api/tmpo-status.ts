import { phrasedView, shorten, errorText, type Phrase, type StatusView } from '../util/status-view';

/** What flm-tmpo's status counts. */
export interface TmpoCounts {
  written: number;
  open: number;
  /** the port of its HTTP API, when it serves one */
  apiPort?: number | undefined;
  notStored: number;
  rejects: number;
  /** why the HTTP API failed to start, in the system's own words */
  apiFailure?: string | undefined;
}

/** flm-tmpo's status line as phrases of its catalog, to be said in the runtime's language. */
export function tmpoStatusView(c: TmpoCounts): StatusView {
  const parts: Phrase[] = [
    { key: 'blocks', en: `${c.written} blocks`, params: { count: c.written } },
    { key: 'open', en: `${c.open} open`, params: { count: c.open } },
  ];
  if (c.apiPort !== undefined) parts.push({ key: 'port', en: `:${c.apiPort}`, params: { port: c.apiPort } });
  if (c.notStored) parts.push({ key: 'notStored', en: `${c.notStored} not stored`, params: { count: c.notStored } });
  if (c.rejects) parts.push({ key: 'rejects', en: `${c.rejects} rejects`, params: { count: c.rejects } });
  return c.apiFailure ? phrasedView('error', [{ key: 'why', en: c.apiFailure }, ...parts]) : phrasedView('ok', parts);
}

/** The status after a message failed: rejects so far and why. */
export function tmpoErrorView(rejects: number, err: unknown): StatusView {
  const why = shorten(errorText(err), 40);
  return phrasedView('error', [
    { key: 'rejectsWhy', en: `${rejects} rejects: ${why}`, params: { count: rejects, why } },
  ]);
}
