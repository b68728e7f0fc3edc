import type { CliIo } from '../command';
import { serialPortConnector, describeSerial, type SerialSettings } from '../../link/serial-port';
import type { Connection } from '../../link/reconnecting';
import { decodeFlm02Reply, encodeFlm02Request, parseFlm02Read, type Flm02Command } from '../../flx/flm02';
import { Flm02ReadFramer } from '../../flx/flm02-reads';
import { parseKubePacket } from '../../flx/kube';
import { endings } from './board';

/**
 * `flm board sniff --protocol flm02`: an FLM02 board speaks only when asked, so this asks, read
 * only: `gh` once, then `gd` once a second (what spid polls); never a set command. One JSON
 * line per reply: what was asked, the decoded reply or why it was dropped, the radio bytes and
 * the Kube packets in them. Statistics at the end.
 */

const POLL_MS = 1000;
const REPLY_TIMEOUT_MS = 500;

export async function sniffFlm02(
  io: CliIo,
  path: string,
  settings: SerialSettings,
  seconds: number | undefined,
): Promise<number> {
  const what = `${path} ${describeSerial(settings)}`;
  const t0 = Date.now();
  const run = endings(seconds);
  const stats = { requests: 0, replies: 0, badCrc: 0, malformed: 0, timeouts: 0, kubePackets: 0 };
  const framer = new Flm02ReadFramer();
  let asked: { cmd: Flm02Command; timer: NodeJS.Timeout } | undefined;
  const line = (o: object) => io.stdout.write(JSON.stringify({ seen: new Date().toISOString(), ...o }) + '\n');

  const onRead = (text: string, overflowed: boolean) => {
    const request = asked?.cmd ?? null;
    if (asked) clearTimeout(asked.timer);
    asked = undefined;
    const read = overflowed ? null : parseFlm02Read(text);
    if (!read) {
      stats.malformed++;
      return line({
        request,
        error: overflowed ? 'read too long' : `not a board read: ${JSON.stringify(text.slice(0, 60))}`,
      });
    }
    const out: Record<string, unknown> = { request };
    if (read.control) {
      const d = decodeFlm02Reply(read.control);
      if (d.ok) {
        stats.replies++;
        out.reply = d.message;
      } else {
        if (d.reason === 'crc') stats.badCrc++;
        else stats.malformed++;
        out.error = d.detail;
      }
    }
    if (read.uart.length) {
      out.uart = Buffer.from(read.uart).toString('hex');
      const k = parseKubePacket(read.uart);
      if (k.ok) stats.kubePackets++;
      out.kube = k.ok
        ? {
            group: k.packet.group,
            nid: k.packet.header.nid,
            kind: k.packet.kind,
            ack: k.packet.header.ack,
            payload: Buffer.from(k.packet.payload).toString('hex'),
          }
        : { error: k.reason };
    }
    line(out);
  };

  let conn: Connection;
  try {
    conn = await serialPortConnector({ path, settings })(
      {
        data: (chunk) => {
          for (const r of framer.push(chunk)) onRead(r.text, r.overflowed);
        },
        closed: (err) => run.end(err ? `connection lost: ${err.message}` : 'connection closed'),
      },
      { attempt: 1, previous: 'first' },
    );
  } catch (err) {
    run.dispose();
    throw new Error(`cannot open ${what}: ${(err as Error).message}`);
  }
  const ask = (cmd: Flm02Command) => {
    if (asked) return; // the previous one is still within its timeout
    stats.requests++;
    asked = {
      cmd,
      timer: setTimeout(() => {
        stats.timeouts++;
        framer.reset();
        line({ request: cmd, error: `no reply within ${REPLY_TIMEOUT_MS} ms` });
        asked = undefined;
      }, REPLY_TIMEOUT_MS),
    };
    conn
      .write?.(Buffer.from(encodeFlm02Request(cmd), 'latin1'))
      .catch((err: unknown) => run.end(`write failed: ${(err as Error).message}`));
  };
  io.stderr.write(`polling the FLM02 board on ${conn.label}${seconds ? ` for ${seconds} s` : ' (Ctrl-C to stop)'}\n`);
  ask('gh');
  const poll = setInterval(() => ask('gd'), POLL_MS);
  const why = await run.ended;
  run.dispose();
  clearInterval(poll);
  if (asked) clearTimeout(asked.timer);
  await conn.close();
  io.stdout.write(
    JSON.stringify({ stats: { seconds: Math.round((Date.now() - t0) / 100) / 10, ...stats }, end: why }) + '\n',
  );
  if (stats.replies === 0) {
    io.stderr.write(
      `flm board sniff: no reply from ${what}: check the port and the baud rate (the bridge's; 115200 by default)\n`,
    );
    return 1;
  }
  return 0;
}
