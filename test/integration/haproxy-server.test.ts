/**
 * `haproxy-config --server` run by a real HAProxy (docs/cluster.md#health-and-haproxy), in front of
 * two stand-ins for server instances: a TLS listener where the bridge endpoint would be (it says
 * which instance it is) and an API answering `GET /health` with a status the test sets. The FLM's
 * side must reach an instance's own certificate (TLS passes through, the client verifies it
 * against the CA) and an instance answering 503 must get no new devices or requests until it
 * answers 200 again. With `--api-tls` the API is HTTPS end to end and checked over TLS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { haproxyConfig } from '../../scripts/haproxy-config';
import { untilListening } from '../support/net';
import { freePort } from '../support/nodered';
import { start } from '../support/processes';
import { tempDir } from '../support/temp-dir';
import { testPki, type TestPki } from '../support/tls';

interface StandIn {
  name: string;
  bridge: TlsServer;
  api: Server;
  health: number;
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

function standIn(name: string, pki: TestPki, apiTls: boolean): StandIn {
  const tls = { cert: pki.serverCert, key: pki.serverKey };
  const self: StandIn = {
    name,
    health: 200,
    bridge: createTlsServer(tls, (sock) => sock.end(name)),
    api: undefined as unknown as Server,
  };
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const status = req.url === '/health' ? self.health : 200;
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(name);
  };
  self.api = apiTls ? createHttpsServer(tls, answer) : createHttpServer(answer);
  return self;
}

/** An FLM's connection through the balancer: which instance answered, its certificate verified. */
function viaBridge(port: number, pki: TestPki): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host: '127.0.0.1', port, ca: pki.caPem, servername: 'localhost' });
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    sock.on('end', () => resolve(got));
    sock.on('error', reject);
  });
}

async function viaApi(port: number, pki: TestPki, apiTls: boolean): Promise<string> {
  if (!apiTls) {
    const r = await fetch(`http://127.0.0.1:${port}/sensor/x`, { signal: AbortSignal.timeout(5000) });
    return r.text();
  }
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/sensor/x', ca: pki.caPem, servername: 'localhost' });
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Who answers `tries` connections in a row, polled until `want` holds (the checks run every 200 ms). */
async function until(what: string, sample: () => Promise<string[]>, want: (names: Set<string>) => boolean) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const names = new Set(await sample());
    if (want(names)) return;
    if (Date.now() > deadline) throw new Error(`${what}: answered by ${[...names].join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const many = <T>(n: number, f: () => Promise<T>) => Promise.all(Array.from({ length: n }, f));

for (const apiTls of [false, true]) {
  test(`--server${apiTls ? ' --api-tls' : ''}: FLMs reach an instance's own certificate; an instance answering 503 on /health gets nothing new until it is back`, async () => {
    const pki = await testPki();
    const dir = await tempDir('flm-haproxy-server-');
    const instances = [standIn('flm1', pki, apiTls), standIn('flm2', pki, apiTls)];
    const servers = instances.flatMap((i) => [i.bridge, i.api]);
    let haproxy: ReturnType<typeof start> | undefined;
    try {
      const ports = [];
      for (const i of instances) ports.push({ name: i.name, mqtt: await listen(i.bridge), api: await listen(i.api) });
      const front = { mqttPort: await freePort(), apiPort: await freePort() };
      const cfg = haproxyConfig({
        bind: '127.0.0.1',
        ...front,
        server: true,
        apiTls,
        checkEveryMs: 200,
        maxConnections: 200,
        instances: ports.map((p) => ({ ...p, host: '127.0.0.1' })),
      });
      const file = join(dir.path, 'haproxy.cfg');
      await writeFile(file, cfg);
      haproxy = start('haproxy', ['-db', '-f', file]);
      await untilListening(front.mqttPort, haproxy.output);
      const bridgeSample = () => many(6, () => viaBridge(front.mqttPort, pki));
      const apiSample = () => many(6, () => viaApi(front.apiPort, pki, apiTls));
      const both = (n: Set<string>) => n.has('flm1') && n.has('flm2');
      await until('both instances up', bridgeSample, both);
      await until('both APIs up', apiSample, both);

      instances[0]!.health = 503;
      const onlyFlm2 = (n: Set<string>) => n.size === 1 && n.has('flm2');
      await until('flm1 taken out of the bridge backend', bridgeSample, onlyFlm2);
      await until('flm1 taken out of the API backend', apiSample, onlyFlm2);
      // taken out it stays out: a few more rounds all go to flm2
      for (let round = 0; round < 3; round++) {
        assert.deepEqual(new Set(await bridgeSample()), new Set(['flm2']));
        assert.deepEqual(new Set(await apiSample()), new Set(['flm2']));
      }

      instances[0]!.health = 200;
      await until('flm1 back in the bridge backend', bridgeSample, both);
      await until('flm1 back in the API backend', apiSample, both);
    } finally {
      await haproxy?.stop(3000);
      for (const s of servers) s.close();
      await dir.remove();
    }
  });
}
