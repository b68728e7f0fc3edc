import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { keepPrivate } from '../util/private-file';

const run = promisify(execFile);

export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** the CA file an FLM needs (`bridge_cafile`, `flukso.daemon.cacert`); undefined for given files */
  caFile: string | undefined;
}

/**
 * The server's certificate: the files the person named, or else a CA and a server certificate
 * signed by it, made once with the openssl CLI into `<dataDir>/server-tls/` (keys 0600) and kept.
 * The FLM's mosquitto checks the server's name against the certificate, so the names a device
 * uses to reach the server must be among `names` (default: localhost, 127.0.0.1 and this host's
 * name; more with FLM_SERVER_NAMES). A CA made here is valid for 20 years, as flukso.net's was.
 */
export async function serverTls(
  dataDir: string,
  given: { certFile?: string; keyFile?: string },
  names: string[] = [],
): Promise<ServerTls> {
  if (given.certFile || given.keyFile) {
    if (!given.certFile || !given.keyFile) throw new Error('give both the TLS certificate and its key, or neither');
    return { cert: await fs.readFile(given.certFile), key: await fs.readFile(given.keyFile), caFile: undefined };
  }
  const dir = join(dataDir, 'server-tls');
  const files = {
    caKey: join(dir, 'ca.key'),
    caCrt: join(dir, 'ca.crt'),
    key: join(dir, 'server.key'),
    csr: join(dir, 'server.csr'),
    crt: join(dir, 'server.crt'),
  };
  const have = await fs.stat(files.crt).then(
    () => true,
    () => false,
  );
  if (!have) await makePki(dir, files, names);
  await keepPrivate(files.key);
  await keepPrivate(files.caKey);
  return { cert: await fs.readFile(files.crt), key: await fs.readFile(files.key), caFile: files.caCrt };
}

async function makePki(dir: string, f: Record<'caKey' | 'caCrt' | 'key' | 'csr' | 'crt', string>, extra: string[]) {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const old = process.umask(0o077);
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      f.caKey,
      '-out',
      f.caCrt,
      '-days',
      '7300',
      '-subj',
      '/CN=Flukso server CA (node-red-contrib-fluksometer)',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', ['req', ...ec, '-keyout', f.key, '-out', f.csr, '-subj', '/CN=flukso server']);
    const names = [...new Set(['localhost', '127.0.0.1', hostname(), ...extra].filter(Boolean))];
    const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
    const ext = join(dir, 'server.ext');
    await fs.writeFile(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      f.csr,
      '-CA',
      f.caCrt,
      '-CAkey',
      f.caKey,
      '-CAcreateserial',
      '-out',
      f.crt,
      '-days',
      '7300',
      '-extfile',
      ext,
    ]);
    await fs.rm(f.csr, { force: true });
  } finally {
    process.umask(old);
  }
}
