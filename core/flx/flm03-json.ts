import { counterToDecimal, q2011ToDecimal } from './fixed-point';
import { CT_COUNTERS, CT_PARAMETERS, type Flm03Message } from './flm03-messages';

/**
 * An FLM03 message as plain JSON for people and scripts (`flm board sniff`): ports numbered as
 * the FLM numbers them (clamps 1–3, pulse inputs 4–6), fixed-point values as the three-decimal
 * numbers flxd prints, bytes as hex. Stable: scripts may rely on it.
 */
export function flm03ToJson(m: Flm03Message): Record<string, unknown> {
  switch (m.type) {
    case 'ct_data': {
      const counters: Record<string, number> = {};
      const gauges: Record<string, number> = {};
      for (let i = 0; i < CT_COUNTERS; i++)
        counters[CT_PARAMETERS[i]!] = counterToDecimal(m.counters[i]!.integer, m.counters[i]!.fraction);
      CT_PARAMETERS.forEach((p, i) => (gauges[p] = q2011ToDecimal(m.gauges[i]!)));
      return { type: m.type, time: m.time, millis: m.millis, port: m.port + 1, counters, gauges };
    }
    case 'pulse_data':
      return {
        type: m.type,
        time: m.time,
        millis: m.millis,
        port: m.port + 1,
        counter: ((m.counter >>> 0) * 1000 + m.counterMillis) / 1000,
        gauge: q2011ToDecimal(m.gauge),
      };
    case 'ping':
    case 'pong':
    case 'time_slew':
    case 'kube_packet':
    case 'debug':
    case 'rfm':
    case 'exit':
      return { type: m.type, payload: hex(m.payload) };
    case 'unknown':
      return { type: m.type, typeId: m.typeId, payload: hex(m.payload) };
    default:
      return { ...m };
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
