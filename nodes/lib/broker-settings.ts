import { z } from 'zod';
import { DEFAULT_LIMITS } from '../../core/broker/embedded-broker';
import { ACCESS_MODES, DEFAULT_DISCOVERY_PREFIX, type AccessMode } from '../../core/broker/access';
import { parseTopicFilters } from '../../core/broker/topic-filter';
import { redisLabel } from '../../core/broker/cluster';
import { checkPrefix } from '../../core/sinks/homeassistant/discovery';
import { textSetting, numberSetting, isPort } from './settings';
import { setting } from './settings';

/** HA publishes `online` here when it (re)starts; integrations then announce again. */
export const DEFAULT_OUT_TOPICS = 'homeassistant/status';

const positive = (n: number) => Number.isInteger(n) && n > 0;
const D = DEFAULT_LIMITS;

/** flm-broker's properties (and credentials, under `credentials`) as the editor or a hand-written flow gives them. */
export const brokerSettings = z.object({
  host: setting.text('127.0.0.1'),
  port: setting.number(1883, 'MQTT port', isPort),
  /** blank or 'off': no websocket listener */
  wsPort: setting.read((v) =>
    ['', 'off'].includes(textSetting(v)) ? null : numberSetting(v, 8083, 'websocket port', isPort),
  ),
  access: setting.read((v) => {
    const mode = textSetting(v, 'read-only-anonymous') as AccessMode;
    if (!ACCESS_MODES.includes(mode)) throw new Error(`access: unknown mode "${mode}"`);
    return mode;
  }),
  /** comma-separated topic filters: what clients publish on them leaves on the output */
  outTopics: setting.read((v) => parseTopicFilters(textSetting(v, DEFAULT_OUT_TOPICS))),
  maxPacketKB: setting.number(D.maxPacketBytes / 1024, 'maximum packet size', positive),
  maxConnections: setting.number(D.maxConnections, 'maximum connections', positive),
  maxRetained: setting.number(D.maxRetainedMessages, 'maximum retained messages', positive),
  maxRetainedMB: setting.number(D.maxRetainedBytes / 1024 / 1024, 'maximum retained MB', (n) => n > 0),
  /** comma-separated Origins or host names allowed to open a websocket; blank: this host */
  wsOrigins: setting.read((v) =>
    textSetting(v)
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  ),
  /** Home Assistant's discovery prefix, whose configs only the pipeline writes */
  haPrefix: setting.read((v) => checkPrefix(textSetting(v, DEFAULT_DISCOVERY_PREFIX))),
  /** 'off': logged-in clients may not publish on the pipeline's topics */
  loginPublish: setting.read((v) => textSetting(v, 'on') !== 'off'),
  /** 'on': anonymous clients may subscribe to $SYS */
  anonSys: setting.read((v) => textSetting(v, 'off') === 'on'),
  /** blank: alone; a Redis URL: one of several instances sharing it (core/broker/cluster.ts) */
  redis: setting.read((v) => {
    const url = textSetting(v).trim();
    if (url) redisLabel(url); // throws a clear error for what is not a Redis URL
    return url;
  }),
  credentials: z.object({ username: setting.text(), password: setting.secret() }),
});
