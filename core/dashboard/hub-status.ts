import { phrasedView, type StatusView } from '../util/status-view';

/** flm-dashboard's status line as a phrase of its catalog: readings taken, pages open. */
export function dashboardStatusView(readings: number, pages: number): StatusView {
  const en = `${readings} readings, ${pages} page${pages === 1 ? '' : 's'} open`;
  return phrasedView('ok', [{ key: pages === 1 ? 'onePage' : 'pages', en, params: { readings, pages } }]);
}
