import type { Sensor } from '../config/schema';
import type { SensorCfg } from './block';
import { buildSensorSection } from '../mqtt/device-config';

/**
 * A block's cfg (docs/protocols/tmpo.md#block-format): the sensor's config section without `enable`
 * and `counter`, the same option names as on /device/<did>/config/sensor.
 */
export function sensorCfg(sensor: Sensor): SensorCfg {
  const { enable: _enable, ...cfg } = buildSensorSection(sensor);
  return cfg as SensorCfg;
}
