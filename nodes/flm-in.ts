import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { checkBrokerUrl } from '../core/mqtt/connection';
import { ImportClient, type ImportEvent } from '../core/mqtt/import-client';
import { ImportedCounters } from '../core/readings/imported-counters';
import { systemClock } from '../core/util/clock';
import { Status, statusTranslator, rejectsWhy } from './lib/status';
import { onCloseBounded, statusText } from './lib/close';
import { textSetting, setting, parseSettings } from './lib/settings';
import { Rejects } from './lib/rejects';

/** Seconds between reconnect attempts: the broker is another box, often rebooting, never worth hammering. */
const RECONNECT_MS = 5000;
/** How long readings of sensors no config names wait for one after the first connection. */
export const GRACE_MS = 5000;

const settingsSchema = z.object({
  url: setting.read((v) => checkBrokerUrl(textSetting(v))),
  caFile: setting.text(),
  clientId: setting.text(),
  retained: setting.read((v) => (v === 'pass' ? 'pass' : 'skip') as 'pass' | 'skip'),
  dataDir: setting.text(),
  credentials: z.object({ username: setting.text(), password: setting.secret() }),
});

export default function (RED: NodeAPI): void {
  function FlmIn(this: Node<{ username?: string; password?: string }>, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node, statusTranslator(RED, 'flm-in'));
    const rejects = new Rejects(node);
    const url = (def as { url?: string }).url;
    let client: ImportClient | undefined;
    let counters: ImportedCounters | undefined;
    let closed = false;

    const showStatus = () => {
      const view = client?.statusView(rejects.total);
      if (view) status.show(view);
    };
    const onEvent = (e: ImportEvent) => {
      switch (e.kind) {
        case 'connected':
          return node.log(`connected to ${url}`);
        case 'disconnected':
          return node.log(`disconnected from ${url}; reconnecting every ${RECONNECT_MS / 1000} s`);
        case 'refused':
          return node.error(`broker ${url} refused the connection: ${e.reason}; check the username and password`);
        case 'trouble':
          return e.repeated ? undefined : node.warn(`broker ${url}: ${e.error}`);
        case 'subscribe-failed':
          return status.failed(new Error(`subscribe failed: ${e.error}`));
        case 'config':
          for (const why of e.config.skipped) node.warn(`device ${e.config.deviceId}: ${why}`);
          if (e.config.message) node.send(e.config.message as unknown as NodeMessage);
          return node.log(`device ${e.config.deviceId}: ${e.config.sensors} sensors learnt from its config`);
        case 'readings':
          // Counters that go back are held, then carry on (docs/protocols/flm-mqtt.md#counters-that-restart).
          return void counters?.take(e.list, (list) => node.send([list as unknown as NodeMessage[]]));
        case 'rejected':
          rejects.error(e.error, { topic: e.topic, payload: e.payload.toString('utf8').slice(0, 200) } as NodeMessage);
          return status.error(rejectsWhy(status, rejects.total, statusText(e.error, 40)));
        case 'unreleased':
          return rejects.error(e.error);
      }
    };

    const starting = (async () => {
      const s = parseSettings(settingsSchema, { ...def, credentials: node.credentials ?? {} });
      const ca = s.caFile ? await readFile(s.caFile) : undefined;
      const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
      const path = join(s.dataDir || join(userDir, 'flukso'), 'flm-in-counters.json');
      counters = await ImportedCounters.open({ path, key: node.id, warn: (t) => node.warn(t) });
      if (closed) return;
      status.idle(status.say('connecting', `connecting to ${s.url.host}`, { target: s.url.host }));
      client = new ImportClient({
        url: s.url,
        clientId: s.clientId || `flm-in-${randomBytes(4).toString('hex')}`,
        reconnectMs: RECONNECT_MS,
        ...(s.credentials.username ? { username: s.credentials.username, password: s.credentials.password } : {}),
        ...(ca ? { ca } : {}),
        clock: systemClock,
        graceMs: GRACE_MS,
        retained: s.retained,
        onEvent,
        onStatus: showStatus,
      });
    })().catch((err: unknown) => status.failed(err));

    onCloseBounded(node, async () => {
      closed = true;
      await starting;
      await client?.close();
      await counters?.close();
    });
  }

  RED.nodes.registerType('flm-in', FlmIn as never, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
}
