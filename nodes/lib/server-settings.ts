import { z } from 'zod';
import { redisLabel } from '../../core/broker/cluster';
import { isPort, setting, textSetting } from './settings';

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
  /** `mysql://user:password@host:port/database`: registry and readings shared by every instance; blank: files */
  dbUrl: setting.text(),
  /** blank: the MQTT bridge endpoint alone; a Redis URL: one of several instances sharing it (core/broker/cluster.ts) */
  redis: setting.read((v) => {
    const url = textSetting(v).trim();
    if (url) redisLabel(url); // a clear error for what is not a Redis URL
    return url;
  }),
});
