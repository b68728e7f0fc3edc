import { z } from 'zod';
import { isPort, numberSetting, setting, textSetting } from './settings';

const positive = (n: number) => Number.isInteger(n) && n > 0;

/** flm-server's properties as the editor or a hand-written flow gives them. */
export const serverSettings = z.object({
  /** the data folder; the server keeps its files in `<dataDir>/server` */
  dataDir: setting.read((v) => {
    const s = textSetting(v);
    if (!s) throw new Error('data folder: required (the server keeps its registry and readings there)');
    return s;
  }),
  host: setting.text('127.0.0.1'),
  apiPort: setting.number(8080, 'API port', isPort),
  /** blank or 'off': no MQTT bridge endpoint */
  bridgePort: setting.read((v) =>
    ['', 'off'].includes(textSetting(v)) ? undefined : numberSetting(v, 8883, 'bridge port', isPort),
  ),
  tlsCert: setting.text(),
  tlsKey: setting.text(),
  /** 'on': HTTPS with the generated certificate too */
  https: setting.read((v) => textSetting(v, 'off') === 'on'),
  /** comma-separated host names and addresses FLMs use to reach this server (generated certificate) */
  names: setting.read((v) =>
    textSetting(v)
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  ),
  maxConnections: setting.number(10_000, 'maximum connections', positive),
});
