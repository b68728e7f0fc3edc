import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { isIP } from 'node:net';
import { hostname } from 'node:os';

const run = promisify(execFile);

/** What the endpoint presents, and the CA file an FLM needs as its bridge_cafile. */
export interface ServerTls {
  cert: string;
  key: string;
  /** the generated CA's certificate; undefined when the operator gave their own certificate */
  caFile?: string;
  /** true when this call made (or re-issued) the certificate */
  generated: boolean;
}

export interface ServerTlsOptions {
  /** PEM files given by the operator; both or neither */
  certFile?: string;
  keyFile?: string;
  /** where a generated CA and certificate live: `<data>/server-tls` */
  dir: string;
  /** names and addresses FLMs reach this server by (their bridge_address), besides this host's name, localhost and 127.0.0.1 */
  names?: string[];
}

const FILES = { caKey: 'ca.key', caCert: 'ca.crt', key: 'server.key', cert: 'server.crt', names: 'server.names' };
/** An FLM cannot easily be given a new CA, so the generated ones last. */
const DAYS = '3650';
/** RSA: the FLM's mosquitto is built against an old TLS library; every version of it takes RSA. */
const NEW_KEY = ['-newkey', 'rsa:2048', '-nodes'];

/**
 * The endpoint's certificate: the operator's files, or a private CA and a server certificate
 * signed by it, made once in `dir` (docs/protocols/server-bridge.md#tls). The CA stays; the
 * server certificate is issued again when the names asked for change, so FLMs keep trusting it.
 */
export async function serverTls(o: ServerTlsOptions): Promise<ServerTls> {
  // Two endpoints of one process on one data folder (a redeploy, two nodes) make the files once.
  const key = resolve(o.dir);
  const before = inProgress.get(key) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => serverTlsNow(o));
  const tail = mine.catch(() => undefined);
  inProgress.set(key, tail);
  void tail.then(() => inProgress.get(key) === tail && inProgress.delete(key));
  return mine;
}

const inProgress = new Map<string, Promise<unknown>>();

async function serverTlsNow(o: ServerTlsOptions): Promise<ServerTls> {
  if (o.certFile || o.keyFile) {
    if (!o.certFile || !o.keyFile) throw new Error('TLS: give both a certificate and a key file, or neither');
    const [cert, key] = await Promise.all([fs.readFile(o.certFile, 'utf8'), fs.readFile(o.keyFile, 'utf8')]);
    return { cert, key, generated: false };
  }
  const names = certNames(o.names ?? []);
  const p = (f: keyof typeof FILES) => join(o.dir, FILES[f]);
  await fs.mkdir(o.dir, { recursive: true, mode: 0o700 });
  // openssl writes a key with the process umask before we close it: nobody else may look in meanwhile.
  await fs.chmod(o.dir, 0o700);
  let generated = false;
  if (!(await exists(p('caCert'))) || !(await exists(p('caKey')))) {
    await makeCa(p('caKey'), p('caCert'));
    await fs.rm(p('cert'), { force: true });
    generated = true;
  }
  const had = (await exists(p('cert'))) && (await exists(p('key'))) ? await readText(p('names')) : undefined;
  if (had !== names.join(',')) {
    await issue(o.dir, names, p);
    generated = true;
  }
  // A key left readable by an older run or a loose umask is closed again.
  await Promise.all([fs.chmod(p('caKey'), 0o600), fs.chmod(p('key'), 0o600)]);
  const [cert, key] = await Promise.all([fs.readFile(p('cert'), 'utf8'), fs.readFile(p('key'), 'utf8')]);
  return { cert, key, caFile: p('caCert'), generated };
}

/** This host's name, localhost and 127.0.0.1, then the names asked for; sorted so a file can say whether they changed. */
function certNames(extra: string[]): string[] {
  const wanted = extra.map((n) => n.trim()).filter(Boolean);
  for (const n of wanted) if (!isName(n)) throw new Error(`TLS: "${n}" is not a host name or address`);
  // A host name a certificate cannot carry (an underscore, say) is left out rather than stopping the start.
  const own = isName(hostname()) ? [hostname()] : [];
  return [...new Set([...own, 'localhost', '127.0.0.1', ...wanted])].sort();
}

const isName = (n: string): boolean =>
  isIP(n) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*$/.test(n);

async function makeCa(keyFile: string, certFile: string): Promise<void> {
  await run('openssl', [
    'req', '-x509', ...NEW_KEY, '-keyout', keyFile, '-out', certFile, '-days', DAYS,
    '-subj', `/CN=Flukso bridge CA ${hostname()}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
  await fs.chmod(keyFile, 0o600);
}

async function issue(dir: string, names: string[], p: (f: keyof typeof FILES) => string): Promise<void> {
  const csr = join(dir, 'server.csr');
  const ext = join(dir, 'server.ext');
  const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  await fs.writeFile(
    ext,
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
  );
  await run('openssl', ['req', ...NEW_KEY, '-keyout', p('key'), '-out', csr, '-subj', `/CN=${names[0]}`]);
  await fs.chmod(p('key'), 0o600);
  await run('openssl', [
    'x509', '-req', '-in', csr, '-CA', p('caCert'), '-CAkey', p('caKey'), '-CAcreateserial',
    '-out', p('cert'), '-days', DAYS, '-extfile', ext,
  ]); // prettier-ignore
  await fs.writeFile(p('names'), names.join(','));
  await Promise.all([fs.rm(csr, { force: true }), fs.rm(ext, { force: true })]);
}

async function exists(path: string): Promise<boolean> {
  return fs.access(path).then(
    () => true,
    () => false,
  );
}

async function readText(path: string): Promise<string | undefined> {
  return fs.readFile(path, 'utf8').catch(() => undefined);
}
