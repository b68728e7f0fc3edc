import { Fifo } from '../util/fifo';

export interface OutMessage {
  topic: string;
  payload: Buffer | string;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/**
 * What the bridge sends once it is connected again.
 * - Retained messages (the sensor table) are remembered per topic and sent on every connect,
 *   as mosquitto's bridge receives the retained messages of its local subscription each time.
 * - Other messages that arrive while the bridge is down wait in a bounded queue; when it is
 *   full the oldest goes, counted.
 */
export class BridgeOutbox {
  private readonly retained = new Map<string, OutMessage>();
  private readonly pending = new Fifo<OutMessage>();
  dropped = 0;

  constructor(
    private readonly maxPending = 1000,
    private readonly maxRetained = 100,
  ) {}

  remember(m: OutMessage): void {
    this.retained.delete(m.topic);
    // An empty retained payload clears the topic: nothing to repeat.
    if (m.payload.length === 0) return;
    this.retained.set(m.topic, m);
    if (this.retained.size > this.maxRetained) {
      this.retained.delete(this.retained.keys().next().value!);
      this.dropped++;
    }
  }

  hold(m: OutMessage): void {
    this.pending.push(m);
    while (this.pending.length > this.maxPending) {
      this.pending.shift();
      this.dropped++;
    }
  }

  get held(): number {
    return this.pending.length;
  }

  /** Everything to send on a connect: the retained messages, then what waited, oldest first. */
  drain(): OutMessage[] {
    return [...this.retained.values(), ...this.pending.drain()];
  }
}
