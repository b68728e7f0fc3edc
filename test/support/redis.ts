import { createConnection } from 'node:net';
import { freePort } from './nodered';
import { start, type Running } from './processes';
import { tempDir } from './temp-dir';

/** A private redis-server on a free loopback port, nothing saved to disk. */
export interface TestRedis {
  url: string;
  port: number;
  /** the redis-server process, for CPU accounting in benches */
  pid: number | undefined;
  /** stop it (SIGTERM); `again()` starts it on the same port, empty */
  stop: () => Promise<void>;
  again: () => Promise<void>;
  /** stop it and remove its dir */
  remove: () => Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const dir = await tempDir('flm-redis-');
  let port = 0;
  let run: Running | undefined;
  const launch = async (fixed?: number) => {
    // A free port can be taken between the probe and redis' bind: try a few.
    for (let attempt = 0; attempt < 5; attempt++) {
      const p = fixed ?? (await freePort());
      const r = start('redis-server', [
        '--port',
        String(p),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir.path,
      ]);
      if (await answers(p, r)) {
        port = p;
        run = r;
        return;
      }
      await r.stop(2000);
    }
    throw new Error(`redis-server did not start: ${run?.output() ?? ''}`);
  };
  await launch();
  const stop = async () => {
    await run?.stop(5000);
  };
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return run?.proc.pid;
    },
    stop,
    again: () => launch(port),
    remove: async () => {
      await stop();
      await dir.remove();
    },
  };
}

/** Does a redis-server answer PING on the port within a few seconds (while `r` runs)? */
async function answers(port: number, r: Running): Promise<boolean> {
  const until = Date.now() + 5000;
  while (Date.now() < until && r.proc.exitCode === null) {
    const pong = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => s.write('PING\r\n'));
      s.setTimeout(500, () => (s.destroy(), resolve(false)));
      s.on('data', (d) => (s.destroy(), resolve(d.toString().startsWith('+PONG'))));
      s.on('error', () => resolve(false));
    });
    if (pong) return true;
    await new Promise((res) => setTimeout(res, 50));
  }
  return false;
}
