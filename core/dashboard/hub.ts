import type { StatusView } from '../util/status-view';
import { dashboardStatusView } from './hub-status';
import { EventStream } from './event-stream';
import { LiveState, type SensorInfo } from './live-state';

/**
 * One dashboard's live side, as flm-dashboard runs it: messages in, the latest state kept, each
 * change out to the open pages, and the line the node's status shows.
 */
export class DashboardHub {
  readonly state = new LiveState();
  readonly stream = new EventStream({ hello: () => ({ event: 'state', data: this.state.snapshot() }) });
  private readings = 0;

  /** Take one message (throws on a reading or batch that is not well formed). */
  take(topic: string, payload: unknown, flm?: unknown): void {
    const changes = this.state.handle(topic, payload, flm);
    for (const c of changes) {
      this.stream.send(c.event, c.data);
      if (c.event === 'reading') this.readings++;
    }
  }

  setSensors(list: readonly SensorInfo[]): void {
    const c = this.state.setSensors(list);
    this.stream.send(c.event, c.data);
  }

  statusText(): string {
    return this.statusView().text;
  }

  /** The same line as a phrase, to be said in the runtime's language. */
  statusView(): StatusView {
    return dashboardStatusView(this.readings, this.stream.size);
  }

  close(): void {
    this.stream.close();
  }
}
