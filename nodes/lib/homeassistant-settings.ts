import { z } from 'zod';
import { DEFAULT_PREFIX, checkPrefix } from '../../core/sinks/homeassistant';
import { textSetting } from './settings';
import { setting } from './settings';
import { packageInfo } from './package-info';

/** flm-homeassistant's properties, read into what every discovery config carries and the staleness limit. */
export const homeAssistantSettings = z
  .object({
    prefix: setting.read((v) => checkPrefix(textSetting(v, DEFAULT_PREFIX))),
    deviceName: setting.text(),
    /** seconds without a reading after which the entities show unavailable; blank or 0: never */
    staleAfter: setting.number(0, 'offline after', (n) => n >= 0),
  })
  .transform((s) => {
    const v = packageInfo.version;
    return {
      staleAfterMs: s.staleAfter * 1000,
      discovery: {
        prefix: s.prefix,
        deviceName: s.deviceName,
        model: 'Fluksometer (Node-RED)',
        ...(v ? { swVersion: v } : {}),
        origin: { name: packageInfo.name, ...(v ? { sw_version: v } : {}) },
      },
    };
  });
