/**
 * The load of many FLMs on a Flukso server, prepared ahead so the bench measures the server and
 * not the making of requests: HTTP rounds (one connection per FLM and round, one POST per sensor
 * with five minutes of readings, `Connection: close` on the last, bytes as the firmware sends them,
 * from test/support/flm-emulator) and level-8 TMPO blocks published over MQTT 3.1 bridges.
 */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { encodeSeries } from '../core/tmpo/codec';
import { FlmHttpConnection } from '../test/support/flm-emulator/http-connection';
import { measurementsBody, requestBytes } from '../test/support/flm-emulator/http-request';
import { bridgeClientId } from '../test/support/flm-emulator/bridge';

export interface LoadDevice {
  did: string;
  key: string;
  sids: string[];
}

/** Readings per POST: fluksod keeps ≤ 2 a minute, a round is 5 minutes. */
export const READINGS_PER_POST = 10;
/** Samples per level-8 block: a counter changing every 10 s. */
export const SAMPLES_PER_BLOCK = 25;

/** One FLM's round: its four POSTs. */
export type Round = Buffer[];

export function buildRounds(devices: readonly LoadDevice[], rounds: number, t0: number, host: string): Round[] {
  const out: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const d of devices) {
      out.push(
        d.sids.map((sid, i) => {
          const points: Array<[number, number]> = [];
          for (let k = 0; k < READINGS_PER_POST; k++) {
            const ts = t0 + r * 300 + k * 30;
            points.push([ts, 1000 + ts - t0]);
          }
          return requestBytes({
            host,
            path: `/sensor/${sid}`,
            version: 250,
            connection: i === d.sids.length - 1 ? 'close' : 'keep-alive',
            keyHex: d.key,
            body: measurementsBody(points),
          });
        }),
      );
    }
  }
  return out;
}

/** Send every round, `concurrency` FLMs at a time; counts of 200s and of anything else. */
export async function driveHttp(port: number, rounds: readonly Round[], concurrency: number) {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const statuses = new Map<number, number>();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= rounds.length) return;
      const conn = new FlmHttpConnection({ host: '127.0.0.1', port });
      for (const req of rounds[i]!) {
        const status = await conn.request(req).then(
          (r) => r.status,
          () => 0,
        );
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 200) ok++;
        else failed++;
      }
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ok, failed, statuses };
}

export interface Block {
  topic: string;
  payload: Buffer;
}

/** Per device, `windows` consecutive level-8 blocks of each of its sensors, oldest first. */
export function buildBlocks(devices: readonly LoadDevice[], windows: number, t0: number): Block[][] {
  return devices.map((d) => {
    const blocks: Block[] = [];
    for (let w = 0; w < windows; w++) {
      const bid = t0 + w * 256;
      for (const sid of d.sids) {
        const times = Array.from({ length: SAMPLES_PER_BLOCK }, (_, k) => bid + 1 + k * 10);
        const values = times.map((t) => 5000 + (t - t0) * 2);
        blocks.push({
          topic: `/sensor/${sid}/tmpo/0/8/${bid}/gz`,
          payload: encodeSeries({ times, values }, { id: sid, type: 'electricity', data_type: 'counter', rid: 0 }),
        });
      }
    }
    return blocks;
  });
}

/** Each device logs in as an FLM bridge and publishes its blocks as fast as its socket takes them. */
export async function driveBridge(url: string, caFile: string, devices: readonly LoadDevice[], blocks: Block[][]) {
  const ca = readFileSync(caFile, 'utf8');
  const clients = await Promise.all(
    devices.map((d) =>
      mqtt.connectAsync(url, {
        protocolId: 'MQIsdp',
        protocolVersion: 3,
        clientId: bridgeClientId(d.did),
        username: d.did,
        password: d.key,
        clean: true,
        keepalive: 60,
        ca,
        rejectUnauthorized: true,
        reconnectPeriod: 0,
      }),
    ),
  );
  await Promise.all(
    clients.map(async (c, i) => {
      for (const b of blocks[i]!) await c.publishAsync(b.topic, b.payload, { qos: 0 });
    }),
  );
  return {
    close: () => Promise.all(clients.map((c) => c.endAsync())),
  };
}
