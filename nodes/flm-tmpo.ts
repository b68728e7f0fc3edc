import { z } from 'zod';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { TMPO_FLUSH_COMMAND } from '../core/mqtt/topics';
import { TmpoService } from '../core/api/tmpo-service';
import { DEFAULT_HORIZON_SECONDS } from '../core/tmpo/builder';
import { deviceNodeParts } from './lib/device-node-parts';
import { onCloseBounded } from './lib/close';
import { setting, parseSettings, textSetting, isPort } from './lib/settings';
import type { Send, Done } from './lib/startup-queue';
import { asMessage, logTo } from './lib/controller';

type TmpoDef = NodeDef & Record<string, unknown> & { device: string };

/** tmpod's `flush` command: write the open blocks now, the current window included. */
export const FLUSH_TOPIC = TMPO_FLUSH_COMMAND;
/** Open blocks are saved this often, bounding what a kill -9 loses. */
const CHECKPOINT_MS = 30_000;
/** A week at most: the store accepts blocks that start up to about 12 days before their window. */
const MAX_HORIZON_HOURS = 168;

const schema = z.object({
  maxMB: setting.number(0, 'disk budget', (n) => n >= 0),
  horizon: setting.number(
    DEFAULT_HORIZON_SECONDS / 3600,
    'late readings horizon (hours)',
    (n) => n >= 0 && n <= MAX_HORIZON_HOURS,
  ),
  apiHost: setting.text('127.0.0.1'),
  /** blank or "off": no HTTP API */
  apiPort: setting.read((v) => {
    const t = textSetting(v);
    return t === '' || t === 'off' ? undefined : setting.number(8080, 'API port', isPort).parse(t);
  }),
});

/** A running flm-tmpo, with the API token it serves (the node's dialog shows it). */
interface FlmTmpoNode extends Node<{ apiToken?: string }> {
  apiTokenInUse?: string;
}

export default function (RED: NodeAPI): void {
  function FlmTmpo(this: FlmTmpoNode, def: TmpoDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const { status, res, rejects, deviceNode, gate } = deviceNodeParts(RED, node, def.device, 'the TMPO store');
    let service: TmpoService | undefined;
    const reportError = (err: unknown) => status.failed(err);

    const handle = (svc: TmpoService) => (msg: NodeMessageInFlow, send: Send, done: Done) => {
      svc
        .handle(String(msg.topic ?? ''), msg.payload, (msg as { flm?: unknown }).flm, (out) => send(asMessage(out)))
        .then(
          () => done(),
          (err: unknown) => {
            rejects.fail(done, err);
            status.show(svc.errorView(err));
          },
        );
    };
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      if (!deviceNode) throw new Error('no flm-device configured: pick or add one in the node settings');
      status.idle(status.say('opening', 'opening store'));
      const s = parseSettings(schema, def);
      const ctx = await deviceNode.ready;
      const svc = await TmpoService.open({
        ...ctx,
        horizonHours: s.horizon,
        maxMB: s.maxMB,
        ...(s.apiPort === undefined
          ? {}
          : { api: { host: s.apiHost, port: s.apiPort, token: textSetting(node.credentials?.apiToken) } }),
        send: (out) => node.send(asMessage(out)),
        log: logTo(node),
        status: (view) => status.show(view),
        rejects: () => rejects.total,
      });
      if (res.isDisposed) return svc.close();
      service = svc;
      node.apiTokenInUse = svc.apiToken;
      await svc.serveApi();
      gate.ready(handle(svc));
      node.send(asMessage(svc.syncMessage()));
      res.interval(1000, () => svc.tick(), reportError);
      res.interval(CHECKPOINT_MS, () => svc.checkpoint(), reportError);
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      reportError(err);
    });

    onCloseBounded(
      node,
      async () => {
        res.dispose();
        await starting;
        await service?.close();
      },
      10_000,
    );
  }

  RED.nodes.registerType('flm-tmpo', FlmTmpo as never, { credentials: { apiToken: { type: 'password' } } });

  // The token a deployed node serves, for its dialog: a secret, so only for those who may deploy.
  RED.httpAdmin.get('/flm-tmpo/:id/api-token', RED.auth.needsPermission('flm-tmpo.write'), (req, res) => {
    const n = RED.nodes.getNode(String(req.params.id)) as FlmTmpoNode | null;
    if (!n?.apiTokenInUse) return void res.status(404).json({ error: 'not deployed, or its HTTP API is off' });
    res.json({ token: n.apiTokenInUse, own: !!textSetting(n.credentials?.apiToken) });
  });
}
