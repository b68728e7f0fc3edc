/**
 * A private MariaDB server for tests and benchmarks: a fresh data dir in a temp folder, listening
 * on 127.0.0.1 at a free port (and a unix socket in the temp folder), with real authentication
 * (no --skip-grant-tables), so a wrong password or a missing privilege fails as it would in
 * production. Needs the Debian package mariadb-server (scripts/system-deps.mjs installs it).
 *
 * Root logs in through the socket only (unix_socket authentication, as the OS user running the
 * tests); the tests' users log in over TCP with passwords:
 * - `full`: every privilege on the database
 * - `reader`: SELECT only (cannot create tables or insert)
 * - `outsider`: no privilege on the database at all
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './e2e/process';

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';
const CLIENT = '/usr/bin/mariadb';

export interface DbUser {
  user: string;
  password: string;
}

export const DATABASE = 'flm';
export const USERS = {
  full: { user: 'flm', password: 'flm-secret' },
  reader: { user: 'flm_reader', password: 'reader-secret' },
  outsider: { user: 'flm_outsider', password: 'outsider-secret' },
} as const satisfies Record<string, DbUser>;

export interface MariaDbOptions {
  /** extra mariadbd options, e.g. `--innodb-flush-log-at-trx-commit=2` */
  serverArgs?: string[];
  startTimeoutMs?: number;
}

const asRoot = process.getuid?.() === 0;

function exec(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(
            `${cmd} ${args.filter((a) => !a.startsWith('--password')).join(' ')} failed: ${err.message}\n${stderr}`,
          ),
        );
      else resolve(stdout);
    });
  });
}

/**
 * True once the server sends its handshake on its own unix socket: it takes logins from then on.
 * The socket, not the TCP port: another server that took the port would answer there. mariadbd
 * binds the port before it makes the socket and gives up when the bind fails.
 */
function greets(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ path: socket });
    const finish = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => finish(false));
    s.once('data', () => finish(true));
    s.once('error', () => finish(false));
  });
}

export class MariaDb {
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly killOnExit = () => this.proc?.kill('SIGKILL');

  private constructor(
    readonly dir: string,
    private tcpPort: number,
    private readonly opts: MariaDbOptions,
  ) {}

  get port(): number {
    return this.tcpPort;
  }

  static available(): boolean {
    return existsSync(MARIADBD) && existsSync(INSTALL_DB) && existsSync(CLIENT);
  }

  /** Install a data dir, start the server, create the database and the users. */
  static async start(opts: MariaDbOptions = {}): Promise<MariaDb> {
    if (!MariaDb.available())
      throw new Error(`MariaDB is not installed (${MARIADBD}); install the Debian package mariadb-server`);
    const dir = await mkdtemp(join(tmpdir(), 'flm-mariadb-'));
    const db = new MariaDb(dir, await freePort(), opts);
    try {
      await exec(
        INSTALL_DB,
        [
          '--no-defaults',
          `--datadir=${join(dir, 'data')}`,
          ...(asRoot ? ['--user=root'] : []),
          '--auth-root-authentication-method=socket',
          `--auth-root-socket-user=${userInfo().username}`,
          '--skip-test-db',
          '--skip-name-resolve',
          // A small redo log: the default 96 MB file would be written for every test file.
          '--innodb-log-file-size=16M',
        ],
        60_000,
      );
      // The port was free a moment ago; should something take it meanwhile, take another.
      for (let attempt = 1; ; attempt++) {
        try {
          await db.resume();
          break;
        } catch (err) {
          if (attempt >= 3 || !/Address already in use|Can't start server: Bind/i.test(String(err))) throw err;
          db.tcpPort = await freePort();
        }
      }
      const u = USERS;
      await db.rootSql(
        [
          `CREATE DATABASE ${DATABASE}`,
          ...Object.values(u).map((x) => `CREATE USER '${x.user}'@'127.0.0.1' IDENTIFIED BY '${x.password}'`),
          `GRANT ALL PRIVILEGES ON ${DATABASE}.* TO '${u.full.user}'@'127.0.0.1'`,
          `GRANT SELECT ON ${DATABASE}.* TO '${u.reader.user}'@'127.0.0.1'`,
        ].join(';\n'),
      );
      return db;
    } catch (err) {
      await db.remove();
      throw err;
    }
  }

  get socket(): string {
    return join(this.dir, 'mariadb.sock');
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** `mysql://user:pass@127.0.0.1:port/flm` for one of USERS (or any user and password). */
  url(who: DbUser = USERS.full, database = DATABASE): string {
    return `mysql://${encodeURIComponent(who.user)}:${encodeURIComponent(who.password)}@127.0.0.1:${this.port}/${database}`;
  }

  /** Start the server on the existing data dir (after `stop`), same port; resolves when it takes logins. */
  async resume(): Promise<void> {
    if (this.running) return;
    const args = [
      '--no-defaults',
      `--datadir=${join(this.dir, 'data')}`,
      ...(asRoot ? ['--user=root'] : []),
      `--socket=${this.socket}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${join(this.dir, 'mariadb.pid')}`,
      `--log-error=${join(this.dir, 'error.log')}`,
      `--tmpdir=${this.dir}`,
      '--skip-name-resolve',
      '--innodb-log-file-size=16M',
      '--innodb-buffer-pool-size=64M',
      '--max-connections=200',
      ...(this.opts.serverArgs ?? []),
    ];
    const proc = spawn(MARIADBD, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    process.off('exit', this.killOnExit);
    process.once('exit', this.killOnExit);
    const until = Date.now() + (this.opts.startTimeoutMs ?? 60_000);
    for (;;) {
      if (!this.running)
        throw new Error(
          `mariadbd exited at start (${proc.exitCode ?? proc.signalCode}): ${stderr}\n${await this.log()}`,
        );
      if (await greets(this.socket)) return;
      if (Date.now() > until) {
        await this.stop();
        throw new Error(
          `mariadbd did not take connections on 127.0.0.1:${this.port} within ${this.opts.startTimeoutMs ?? 60_000} ms\n${await this.log()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Shut the server down (SIGTERM: a clean shutdown), SIGKILL after `graceMs`; the data dir stays. */
  async stop(graceMs = 30_000): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    process.off('exit', this.killOnExit);
  }

  /** Kill the server (SIGKILL: as a power cut would, InnoDB recovers at the next start). */
  async kill(): Promise<void> {
    if (!this.proc || !this.running) return;
    this.proc.kill('SIGKILL');
    await this.exited;
    process.off('exit', this.killOnExit);
  }

  /** Stop the server and delete its folder. */
  async remove(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Run SQL as root through the socket; tab-separated rows without the header. */
  async rootSql(sql: string, database = ''): Promise<string> {
    return exec(
      CLIENT,
      [
        '--no-defaults',
        `--socket=${this.socket}`,
        '--user=root',
        '--batch',
        '--skip-column-names',
        ...(database ? [`--database=${database}`] : []),
        `--execute=${sql}`,
      ],
      30_000,
    );
  }

  /** The first value of the first row of a query as root, in the test database. */
  async scalar(sql: string): Promise<string> {
    return (await this.rootSql(sql, DATABASE)).split('\n')[0]!.split('\t')[0]!;
  }

  async log(): Promise<string> {
    return readFile(join(this.dir, 'error.log'), 'utf8').catch(() => '');
  }
}
