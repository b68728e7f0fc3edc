/**
 * One broker process for bench/cluster.bench.ts: the EmbeddedBroker as flm-broker runs it,
 * alone or on Redis (BENCH_REDIS_URL), with GET /health for HAProxy. Prints
 * `{"mqtt":port,"api":port}` once listening; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import { EmbeddedBroker } from '../core/broker/embedded-broker';
import { redisBackend } from '../core/broker/cluster';

async function main(): Promise<void> {
  const url = process.env.BENCH_REDIS_URL;
  const broker = await EmbeddedBroker.start({
    host: '127.0.0.1',
    port: 0,
    wsPort: null,
    access: { mode: 'open' },
    limits: { maxConnections: 1000 },
    backend: url ? await redisBackend(url) : undefined,
  });
  // What cut a client, for a run that lost some (FLM_BENCH_DEBUG=1).
  if (process.env.FLM_BENCH_DEBUG) {
    broker.on('refused', (r: { detail: string }) => console.error(`broker ${broker.tcpPort}: ${r.detail}`));
    let was = true;
    setInterval(() => {
      if (broker.healthy() !== was) console.error(`broker ${broker.tcpPort}: healthy ${(was = !was)}`);
    }, 50).unref();
    broker.aedes.on('clientError', (c, err) => console.error(`broker ${broker.tcpPort}: ${c.id}: ${err.message}`));
  }
  const health = createServer((req, res) => {
    res.writeHead(req.url === '/health' && broker.healthy() ? 200 : 503).end();
  });
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', () => r()));
  const api = (health.address() as { port: number }).port;
  console.log(JSON.stringify({ mqtt: broker.tcpPort, api }));
  process.on('SIGTERM', () => {
    health.close();
    void broker.close(3000).then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
