import { z } from 'zod';
import { ItemNames, parseOverrides } from '../../core/sinks/openhab';
import { setting } from './settings';

/** flm-openhab's properties and its API token (under `credentials`). */
export const openHabSettings = z.object({
  url: setting.text(),
  homie: setting.read((v) => v === 'on'),
  items: setting.read((v) => new ItemNames(parseOverrides(v))),
  units: setting.read((v) => (v === 'plain' ? 'plain' : 'units') as 'plain' | 'units'),
  homieName: setting.text(),
  credentials: z.object({ token: setting.text() }),
});
