import type { Device, Sensor } from '../config/schema';

/**
 * The sensor table as the FLM publishes it on /device/<did>/config/sensor (flm-firmware.md
 * §7.4): one object keyed by section, "main" plus "1", "2", …, with the uci option names.
 * Unlike the FLM, ids stay strings even when they happen to be all digits.
 */
export function buildDeviceConfig(device: Device): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {
    main: { phase: device.phase, max_provisioned_sensors: device.sensors.length },
  };
  for (const s of [...device.sensors].sort((a, b) => a.n - b.n)) out[String(s.n)] = buildSensorSection(s);
  return out;
}

export function buildSensorSection(s: Sensor): Record<string, unknown> {
  const sec: Record<string, unknown> = {
    id: s.id,
    type: s.type,
    function: s.name,
    class: s.class,
    enable: s.enable ? 1 : 0,
  };
  if (s.port.length) sec.port = [...s.port];
  if (s.constant !== undefined) sec.constant = s.constant;
  if (s.voltage !== undefined) sec.voltage = s.voltage;
  if (s.current !== undefined) sec.current = s.current;
  if (s.subtype !== undefined) sec.subtype = s.subtype;
  if (s.p1 !== undefined) sec.p1 = s.p1;
  sec.data_type = s.data_type;
  sec.rid = s.rid;
  return sec;
}
