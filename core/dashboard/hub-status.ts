import { phrasedView, type StatusView } from '../util/status-view';

/** flm-dashboard's status line as a phrase of its catalog: readings taken, pages open. */
export function dashboardStatusView(readings: number, pages: number): StatusView {
  const params = { readings, pages };
  return phrasedView('ok', [
    pages === 1
      ? { key: 'onePage', en: `${readings} readings, 1 page open`, params }
      : { key: 'pages', en: `${readings} readings, ${pages} pages open`, params },
  ]);
}
