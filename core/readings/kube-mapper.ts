import { z } from 'zod';
import type { Device, Sensor } from '../config/schema';
import { decodeKubeAuto, decodeKubeControl, type KubeField } from '../flx/kube';
import type { Reading } from './computer';
import { EmitRules } from './emit-rules';
import { SourceTotalGuard } from './source-total-guard';

/**
 * The payload of a `board/kube` message: a Kube packet whose CRC the source has checked, its
 * content as hex (as kubed gets it over ubus) or as bytes, for anyone feeding packets from a
 * radio of their own.
 */
export const kubeMessageSchema = z
  .object({
    group: z.number().int().min(0).max(255).optional(),
    nid: z.number().int().min(0).max(31),
    kind: z.enum(['data', 'control', 'ack']).default('data'),
    ack: z.boolean().default(false),
    payload: z.union([
      z
        .string()
        .regex(/^([0-9a-fA-F]{2}){0,66}$/, 'hex, at most 66 bytes')
        .transform((h) => Uint8Array.from(Buffer.from(h, 'hex'))),
      z
        .instanceof(Uint8Array)
        .refine((b) => b.length <= 66, 'at most 66 bytes')
        .transform((b) => Uint8Array.from(b)),
    ]),
  })
  .strict();

/** A checked Kube packet as flm-board passes it on (`board/kube`). */
export interface KubeInput {
  nid: number;
  kind: 'data' | 'control' | 'ack';
  /**
   * the Kube asked for an acknowledgement: the FLM then publishes with QoS 1
   * (docs/protocols/flm-mqtt.md#retain-and-qos)
   */
  ack: boolean;
  payload: Uint8Array;
}

export interface KubeResult {
  readings: Reading[];
  /** QoS the readings go out with */
  qos: 0 | 1;
  /** the clock was not valid: nothing went out, as on the FLM */
  heldBack: boolean;
  /** decoded fields no enabled sensor takes, for telling the person what to add */
  unclaimed: KubeField[];
  /** why the packet gave no fields (a length no Kube format has) */
  problem?: string;
  /** counters that went back and are held (source-total-guard.ts), said once per episode */
  reasons: string[];
  /** counters that restarted and carry on */
  notices: string[];
}

/** What a Kube's fields look like, for a message that names them: "temperature 21.53 °C, humidity 45.2 %". */
export function describeFields(fields: readonly KubeField[]): string {
  return fields.map((f) => `${f.field} ${f.value}${f.unit ? ` ${f.unit}` : ''}`).join(', ');
}

/** A control packet as a sentence for the log: what the Kube asked for. */
export function describeControl(payload: Uint8Array): string {
  const c = decodeKubeControl(payload);
  if (!c) return `an unknown ${payload.length}-byte control request`;
  if (c.request === 'pair') return `to pair (hw_type ${c.hwType}, hw_id ${c.hwId})`;
  if (c.request === 'upgrade') return `a firmware upgrade (hw_type ${c.hwType}, version ${c.swVersion})`;
  return `firmware block ${c.swIndex} of version ${c.swVersion}`;
}

/**
 * Kube data packets as readings of the device's kube sensors
 * (docs/protocols/sensor-board.md#kube-data): each decoded field goes to the sensor with that
 * Kube's node id (`kid`) and the field as its type, as a gauge or a counter by the registry's
 * data_type, stamped with the time it arrived.
 *
 * The payload format is chosen by length, which tells FLK01A and FLK01B apart on its own, so
 * the table needs no Kube model. Control and ack packets carry no readings.
 */
export class KubeReadingMapper {
  private readonly byField = new Map<string, Sensor>();
  private readonly rules = new EmitRules();

  /**
   * `guard`: a Kube's counters (its movement count) never go back when the Kube starts counting
   * again (a battery change): see source-total-guard.ts
   */
  constructor(
    private readonly device: Device,
    readonly guard = new SourceTotalGuard(),
  ) {
    for (const s of device.sensors) {
      if (s.enable && s.class === 'kube' && s.kid !== undefined) this.byField.set(`${s.kid}/${s.type}`, s);
    }
  }

  /** Does any enabled sensor take readings from Kube `nid`? */
  knows(nid: number): boolean {
    for (const s of this.byField.values()) if (s.kid === nid) return true;
    return false;
  }

  process(p: KubeInput, receivedAt: number): KubeResult {
    const result: KubeResult = {
      readings: [],
      qos: p.ack ? 1 : 0,
      heldBack: false,
      unclaimed: [],
      reasons: [],
      notices: [],
    };
    if (p.kind !== 'data') return result;
    const decoded = decodeKubeAuto(p.payload);
    if (!decoded.ok) return { ...result, problem: decoded.reason };
    if (receivedAt <= this.device.validAfter) return { ...result, heldBack: true };
    for (const f of decoded.fields) {
      const sensor = this.byField.get(`${p.nid}/${f.field}`);
      if (!sensor) {
        result.unclaimed.push(f);
        continue;
      }
      let value = f.value;
      if (f.data_type === 'counter') {
        const v = this.guard.offer(sensor.id, f.value, `Kube ${p.nid} ${f.field} (sensor ${sensor.name})`);
        if (v.reason) result.reasons.push(v.reason);
        if (v.notice) result.notices.push(v.notice);
        if (v.publish === undefined) continue;
        value = v.publish;
      }
      const ok =
        f.data_type === 'gauge'
          ? this.rules.gauge(sensor.id, receivedAt)
          : this.rules.counter(sensor.id, receivedAt, value);
      if (ok) result.readings.push({ sid: sensor.id, kind: f.data_type, ts: receivedAt, value, unit: f.unit, sensor });
    }
    return result;
  }
}
