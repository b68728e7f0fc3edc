import type { Node, NodeAPI, NodeDef } from 'node-red';
import { join } from 'node:path';
import { runServer, type RunningServer } from '../core/server/run';
import type { BridgeBackend } from '../core/server/bridge/backend';
import type { FluksoServer } from '../core/server/service';
import { redisBackend, type BrokerBackend } from '../core/broker/cluster';
import { Status, statusTranslator } from './lib/status';
import { onCloseBounded } from './lib/close';
import { parseSettings } from './lib/settings';
import { serverSettings } from './lib/server-settings';
import type { BridgeBackendProvider, BridgeClusterOptions } from './lib/server-bridge-settings';

/**
 * A Flukso-compatible server: the store, HTTP ingestion and the read APIs. An flm-server-bridge
 * node naming this one takes the FLMs' MQTT bridge and stores through `bridgeBackend()`; with a
 * Redis URL its aedes shares one MQTT namespace with the other instances (`bridgeCluster()`).
 */
export default function (RED: NodeAPI): void {
  function FlmServer(
    this: Node & Partial<BridgeBackendProvider> & { fluksoServer?: () => Promise<FluksoServer> },
    def: NodeDef,
  ) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node, statusTranslator(RED, 'flm-server'));
    let running: RunningServer | undefined;
    let redis: BrokerBackend | undefined;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;

    const starting = (async () => {
      const s = parseSettings(serverSettings, def);
      status.idle(status.say('starting', 'starting'));
      // Redis first: an instance that cannot reach it must not take devices as if it were alone.
      if (s.redis) redis = await redisBackend(s.redis);
      if (closed) return;
      const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
      const r = await runServer({
        dataDir: s.dataDir || join(userDir, 'flukso'),
        host: s.host,
        port: s.apiPort,
        ...(s.tlsCert ? { tlsCertFile: s.tlsCert } : {}),
        ...(s.tlsKey ? { tlsKeyFile: s.tlsKey } : {}),
        maxConnections: s.maxConnections,
        ...(s.dbUrl ? { dbUrl: s.dbUrl } : {}),
        // the balancer's /health check takes an instance out while its Redis is away
        ...(redis ? { alsoHealthy: redis.reachable } : {}),
        onError: (err) => node.error(err instanceof Error ? err.message : String(err)),
      });
      if (closed) return void (await r.close());
      running = r;
      node.log(`Flukso API on ${r.server.url}`);
      const show = () => status.show(r.status());
      show();
      timer = setInterval(show, 5000);
      return r;
    })().catch((err: unknown) => {
      status.failed(err);
      throw err;
    });
    starting.catch(() => undefined);
    node.bridgeBackend = async () => {
      const r = await starting;
      if (!r) throw new Error('the Flukso server node stopped');
      return r.server.bridgeBackend as BridgeBackend;
    };
    node.bridgeCluster = async () => {
      await starting;
      return redis ? ({ mq: redis.mq, persistence: redis.persistence } as BridgeClusterOptions) : undefined;
    };
    // For an flm-dashboard naming this node (nodes/lib/dashboard-fleet.ts).
    node.fluksoServer = async () => {
      const r = await starting;
      if (!r) throw new Error('the Flukso server node stopped');
      return r.server;
    };

    onCloseBounded(node, async () => {
      closed = true;
      clearInterval(timer);
      await starting.catch(() => undefined);
      await running?.close();
      // after the HTTP side: the bridge node closes its aedes (and with it the emitter) meanwhile
      await redis?.close(3000);
      status.idle(status.say('stopped', 'stopped'));
    });
  }

  RED.nodes.registerType('flm-server', FlmServer as never);
}
