/**
 * When a reading goes out (docs/protocols/flm-mqtt.md#when-a-reading-goes-out), kept per sensor and
 * kind: at most one gauge and one counter per second, and a counter only when its value changed.
 */
export class EmitRules {
  private readonly last = new Map<string, { ts: number; value?: number }>();

  gauge(sid: string, ts: number): boolean {
    return this.pass(`${sid}/g`, ts);
  }

  counter(sid: string, ts: number, value: number): boolean {
    return this.pass(`${sid}/c`, ts, value);
  }

  private pass(key: string, ts: number, value?: number): boolean {
    const prev = this.last.get(key);
    if (prev && (ts <= prev.ts || (value !== undefined && value === prev.value))) return false;
    this.last.set(key, { ts, value });
    return true;
  }
}
