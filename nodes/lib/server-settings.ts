import { z } from 'zod';
import { isPort, setting } from './settings';

const positive = (n: number) => Number.isInteger(n) && n > 0;

/** flm-server's properties as the editor or a hand-written flow gives them. */
export const serverSettings = z.object({
  /** the data folder, its files in `<dataDir>/server`; blank: `<Node-RED user dir>/flukso`, as flm-server-bridge */
  dataDir: setting.text(),
  host: setting.text('127.0.0.1'),
  apiPort: setting.number(8080, 'API port', isPort),
  /** PEM files; both given: HTTPS */
  tlsCert: setting.text(),
  tlsKey: setting.text(),
  maxConnections: setting.number(10_000, 'maximum connections', positive),
});
