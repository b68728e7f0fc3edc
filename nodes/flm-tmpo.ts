import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { TmpoRecorder } from '../core/tmpo/recorder';
import { syncEntriesSchema, planResend } from '../core/tmpo/sync-plan';
import { tmpoBlockTopic, tmpoSyncTopic, tmpoSyncReplyTopic, parseSensorTopic, isDeviceConfigTopic, TMPO_FLUSH_COMMAND, TMPO_SYNC_COMMAND } from '../core/mqtt/topics';
import { sensorCfg } from '../core/tmpo/sensor-cfg';
import { describeZodError } from '../core/config/schema';
import type { DeviceSensors } from '../core/config/sensor-set';
import type { FlmDeviceNode } from './flm-device';
import { Status } from './lib/status';
import { Resources } from './lib/resources';
import { onCloseBounded, errorText, statusText } from './lib/close';
import { numberSetting, textSetting, isPort } from './lib/settings';
import { createApiServer, derivedApiToken, RecentGauges, type ApiServer } from '../core/api';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';
import { DropTally } from '../core/util/drop-tally';
import { DEFAULT_HORIZON_SECONDS } from '../core/tmpo/builder';

interface TmpoDef extends NodeDef {
  device: string;
  maxMB: string | number;
  apiHost: string;
  apiPort: string | number;
  horizon?: string | number;
}


/** tmpod's `flush` command: write the open blocks now, the current window included. */
export const FLUSH_TOPIC = TMPO_FLUSH_COMMAND;
/** Open blocks are saved this often, bounding what a kill -9 loses. */
const CHECKPOINT_MS = 30_000;
/** A week at most: the store accepts blocks that start up to about 12 days before their window. */
const MAX_HORIZON_HOURS = 168;

/** A running flm-tmpo, with the API token it serves (the node's dialog shows it). */
interface FlmTmpoNode extends Node<{ apiToken?: string }> {
  apiTokenInUse?: string;
}

export default function (RED: NodeAPI): void {
  function FlmTmpo(this: FlmTmpoNode, def: TmpoDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const res = new Resources();
    const deviceNode = RED.nodes.getNode(def.device) as FlmDeviceNode | null;
    let recorder: TmpoRecorder | undefined;
    let api: ApiServer | undefined;
    let apiLabel = '';
    /** why the HTTP API is not serving; the store keeps working without it */
    let apiFailure = '';
    const gauges = new RecentGauges();
    const gate = new StartupQueue('the TMPO store');
    let sensors: DeviceSensors | undefined;
    let deviceId = '';
    const rejects = new Rejects(node);
    /** readings that could not be stored (too old, a duplicate), told once a minute with counts */
    const dropped = new DropTally();
    let horizonText = '';
    const tellDropped = () => {
      const text = dropped.take();
      if (text) node.warn(`TMPO: readings not stored (${horizonText}): ${text}`);
    };
    const blockMsg = (key: { sid: string; rid: number; lvl: number; bid: number }, bytes: Buffer): NodeMessage =>
      ({ topic: tmpoBlockTopic(key), payload: bytes, retain: false, qos: 0 }) as NodeMessage;
    /** tmpod's sync trigger (§4.6): the server answers with what it has; sent at start and on `tmpo/sync`. */
    const syncMsg = (): NodeMessage => ({ topic: tmpoSyncTopic(deviceId), payload: '', retain: false, qos: 0 }) as NodeMessage;

    const showStatus = () => {
      if (!recorder) return;
      const notStored = dropped.total ? ` · ${dropped.total} not stored` : '';
      const text = `${recorder.written} blocks · ${recorder.openBlocks} open${apiLabel}${notStored}${rejects.total ? ` · ${rejects.total} rejects` : ''}`;
      if (apiFailure) status.error(`${apiFailure} · ${text}`);
      else status.ok(text);
    };
    const reportError = (err: unknown) => status.failed(err);
    const apiFailed = (err: unknown) => {
      if (apiFailure) return;
      apiFailure = statusText(err, 50);
      node.error(errorText(err));
      showStatus();
    };

    const resend = async (msg: NodeMessageInFlow, send: Send) => {
      const payload = typeof msg.payload === 'string' || Buffer.isBuffer(msg.payload) ? JSON.parse(String(msg.payload)) : msg.payload;
      const parsed = syncEntriesSchema.safeParse(payload);
      if (!parsed.success) throw new Error(`sync request is not a list of {sid,rid,lvl,bid}: ${describeZodError(parsed.error)}`);
      const keys = planResend(parsed.data, await recorder!.store.list());
      for (const key of keys) {
        const bytes = await recorder!.store.read(key);
        if (bytes) send(blockMsg(key, bytes));
      }
      node.log(`sync: re-published ${keys.length} blocks`);
    };

    const handle = async (msg: NodeMessageInFlow, send: Send, done: Done) => {
      try {
        if (!recorder) throw new Error('TMPO store is closed');
        const topic = String(msg.topic ?? '');
        if (topic === FLUSH_TOPIC) {
          await recorder.tick({ force: true });
          showStatus();
          return done();
        }
        if (topic === TMPO_SYNC_COMMAND) {
          // The upload bridge asks after a (re)connect: what the server lacks is found out afresh.
          send(syncMsg());
          return done();
        }
        if (topic === tmpoSyncReplyTopic(deviceId)) {
          await resend(msg, send);
          return done();
        }
        // The sensor table shares the wire from flm-sensor; it is not a reading, nor an error.
        if (isDeviceConfigTopic(topic)) return done();
        const t = parseSensorTopic(topic);
        if (!t) throw new Error(`not a reading topic: "${topic.slice(0, 80)}" (expected /sensor/<sid>/counter or /gauge)`);
        // A sensor a source derived is the device's own; one a reading describes (flm-in) becomes one.
        const sensor = sensors?.sensorOf(t.sid, (msg as { flm?: unknown }).flm);
        if (!sensor) throw new Error(`unknown sensor ${t.sid}: not an enabled sensor of device ${deviceId}`);
        const p = msg.payload;
        if (!Array.isArray(p) || p.length !== 3 || !Number.isInteger(p[0]) || typeof p[1] !== 'number') {
          throw new Error('payload must be [ts,value,"unit"]');
        }
        // Live gauges feed the FLM local API, whatever the store keeps.
        if (t.kind === 'gauge') gauges.push(t.sid, p[0] as number, p[1] as number, String(p[2]));
        // tmpod keeps one series per sensor: the reading kind its data_type names.
        if (sensor.data_type !== t.kind) return done();
        const outcome = recorder.push(t.sid, sensor.rid, p[0] as number, p[1] as number);
        if (outcome === 'invalid') throw new Error(`reading ${p[0]} for ${sensor.name} not stored: ${outcome}`);
        if (outcome !== 'accepted') {
          // A reading that is well formed but cannot be stored is counted, not an error per reading.
          dropped.note(sensor.name ? `${sensor.name} (${t.sid})` : t.sid, outcome);
          tellDropped();
        }
        showStatus();
        done();
      } catch (err) {
        rejects.fail(done, err);
        status.error(`${rejects.total} rejects: ${statusText(err, 40)}`);
      }
    };
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      if (!deviceNode) throw new Error('no flm-device configured: pick or add one in the node settings');
      status.idle('opening store');
      const maxMB = numberSetting(def.maxMB, 0, 'disk budget', (n) => n >= 0);
      const horizonHours = numberSetting(def.horizon, DEFAULT_HORIZON_SECONDS / 3600, 'late readings horizon (hours)', (n) => n >= 0 && n <= MAX_HORIZON_HOURS);
      horizonText = `horizon ${horizonHours} h`;
      const { device, dataDir, sensors: set } = await deviceNode.ready;
      deviceId = device.id;
      sensors = set;
      const enabled = () => set.all().filter((s) => s.enable).map((s) => s.id);
      const rec = await TmpoRecorder.open({
        dataDir,
        deviceId: device.id,
        cfgFor: (sid) => {
          const sensor = set.get(sid);
          if (!sensor) throw new Error(`sensor ${sid} is not enabled`);
          return sensorCfg(sensor);
        },
        horizonSeconds: Math.round(horizonHours * 3600),
        ...(maxMB > 0 ? { maxBytes: maxMB * 1024 * 1024 } : {}),
        onBlock: (key, bytes) => node.send(blockMsg(key, bytes)),
        onWarning: (text) => node.warn(text),
      });
      if (res.isDisposed) return rec.close();
      recorder = rec;
      gauges.setSensors(enabled());
      res.on(set, 'change', () => gauges.setSensors(enabled()));
      const apiPortText = textSetting(def.apiPort);
      if (apiPortText !== '' && apiPortText !== 'off') {
        // The TMPO API wants a token per sensor: the node's own, else one derived from the device
        // key, never the key itself (it signs uploads and is the bridge password).
        const token = textSetting(node.credentials?.apiToken) || derivedApiToken(device.key);
        node.apiTokenInUse = token;
        api = createApiServer({
          host: textSetting(def.apiHost, '127.0.0.1'),
          port: numberSetting(apiPortText, 8080, 'API port', isPort),
          store: () => recorder?.store,
          gauges,
          tokens: () => new Map(enabled().map((sid) => [sid, token])),
          onError: (err) => node.warn(`HTTP API: ${errorText(err)}`),
          onServerError: (err) => apiFailed(new Error(`HTTP API: ${err.message}`)),
        });
        try {
          const where = await api.listen();
          apiLabel = ` · :${where.port}`;
          node.log(`HTTP API on http://${where.host}:${where.port}/sensor/<sid>`);
        } catch (err) {
          // A busy port stops the API only; readings are still stored. A redeploy tries again.
          apiFailed(err);
        }
      }
      showStatus();
      gate.ready((m, s, d) => void handle(m, s, d));
      node.send(syncMsg());
      res.interval(1000, async () => {
        if ((await rec.tick()) > 0) showStatus();
        tellDropped();
      }, reportError);
      res.interval(CHECKPOINT_MS, () => rec.checkpoint(), reportError);
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      reportError(err);
    });

    onCloseBounded(node, async () => {
      res.dispose();
      await starting;
      await api?.close(2000);
      await recorder?.close();
    }, 10_000);
  }

  RED.nodes.registerType('flm-tmpo', FlmTmpo as never, { credentials: { apiToken: { type: 'password' } } });

  // The token a deployed node serves, for its dialog: a secret, so only for those who may deploy.
  RED.httpAdmin.get('/flm-tmpo/:id/api-token', RED.auth.needsPermission('flm-tmpo.write'), (req, res) => {
    const n = RED.nodes.getNode(String(req.params.id)) as FlmTmpoNode | null;
    if (!n?.apiTokenInUse) return void res.status(404).json({ error: 'not deployed, or its HTTP API is off' });
    res.json({ token: n.apiTokenInUse, own: !!textSetting(n.credentials?.apiToken) });
  });
}
