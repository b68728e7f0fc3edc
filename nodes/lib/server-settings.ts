import { z } from 'zod';
import { isPort, setting, textSetting } from './settings';

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
  /** PEM files; both given: HTTPS */
  tlsCert: setting.text(),
  tlsKey: setting.text(),
  maxConnections: setting.number(10_000, 'maximum connections', positive),
});
