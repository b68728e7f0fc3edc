/**
 * The bench's baseline (run as its own process, like the server): only the parse and the digest
 * check of the same requests, nothing stored. HTTP: read the body, check X-Version and the
 * X-Digest with the sensor's device key, parse the JSON and its [ts,counter] pairs, answer
 * `{"response":"ok"}`. Bridge: aedes over TLS, device id / key login, the block topic parsed, the
 * gzip stream inflated and its JSON parsed.
 *
 * Input (env): FLM_BASELINE_DEVICES (JSON file of [{did,key,sids}]), FLM_BASELINE_CERT and
 * FLM_BASELINE_KEY (PEM files). Prints `{"http":port,"bridge":port}` once listening.
 */
import http from 'node:http';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Aedes } from 'aedes';

interface Dev {
  did: string;
  key: string;
  sids: string[];
}

const devices = JSON.parse(readFileSync(process.env.FLM_BASELINE_DEVICES!, 'utf8')) as Dev[];
const keyOfSid = new Map<string, string>();
const keyOfDid = new Map<string, string>();
for (const d of devices) {
  keyOfDid.set(d.did, d.key);
  for (const s of d.sids) keyOfSid.set(s, d.key);
}

function reply(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const api = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const m = /^\/sensor\/([0-9a-f]{32})$/.exec(req.url ?? '');
    const key = m ? keyOfSid.get(m[1]!) : undefined;
    if (!key) return reply(res, 404, '{"error":"unknown sensor"}');
    if (req.headers['x-version'] !== '1.0') return reply(res, 400, '{"error":"version"}');
    const digest = String(req.headers['x-digest'] ?? '');
    const want = createHmac('sha1', key).update(body).digest('hex');
    if (digest.length !== 40 || !timingSafeEqual(Buffer.from(digest), Buffer.from(want)))
      return reply(res, 401, '{"error":"digest"}');
    try {
      const o = JSON.parse(body.toString('utf8')) as { measurements: unknown };
      if (!Array.isArray(o.measurements)) throw new Error('no measurements');
      for (const p of o.measurements)
        if (!Array.isArray(p) || !Number.isInteger(p[0]) || !Number.isInteger(p[1])) throw new Error('pair');
    } catch {
      return reply(res, 400, '{"error":"body"}');
    }
    reply(res, 200, '{"response":"ok"}');
  });
});

const BLOCK_TOPIC = /^\/sensor\/([0-9a-f]{32})\/tmpo\/(\d+)\/(8|12|16|20)\/(\d+)\/gz$/;

async function main(): Promise<void> {
  const aedes = await Aedes.createBroker();
  aedes.authenticate = (_client, username, password, done) => {
    const key = username === undefined ? undefined : keyOfDid.get(username);
    const ok = key !== undefined && password !== undefined && password.toString() === key;
    done(ok ? null : Object.assign(new Error('bad login'), { returnCode: 4 }), ok);
  };
  aedes.on('publish', (packet, client) => {
    if (!client) return;
    const m = BLOCK_TOPIC.exec(packet.topic);
    if (!m) return;
    const payload = packet.payload as Buffer;
    if (payload[0] !== 0x1f || payload[1] !== 0x8b) return;
    JSON.parse(gunzipSync(payload).toString('utf8'));
  });
  const tls = createTlsServer({
    cert: readFileSync(process.env.FLM_BASELINE_CERT!),
    key: readFileSync(process.env.FLM_BASELINE_KEY!),
  });
  tls.on('secureConnection', (s) => aedes.handle(s));
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  console.log(
    JSON.stringify({ http: (api.address() as AddressInfo).port, bridge: (tls.address() as AddressInfo).port }),
  );
}

void main();
