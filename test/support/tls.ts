/**
 * Throwaway certificates for the TLS tests, made with the openssl CLI in a temp dir: a CA, a
 * server certificate for 127.0.0.1 and localhost signed by it, and a second CA that signed
 * nothing (the "wrong CA"). Made once per test process.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = promisify(execFile);

export interface TestPki {
  dir: string;
  caFile: string;
  caPem: string;
  serverCert: string;
  serverKey: string;
  otherCaFile: string;
  otherCaPem: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<void> {
  await run('openssl', [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.crt`),
    '-days',
    '2',
    '-subj',
    `/CN=flm test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

let made: Promise<TestPki> | undefined;

export function testPki(): Promise<TestPki> {
  made ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flm-pki-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await makeCa(dir, 'ca');
    await makeCa(dir, 'other-ca');
    await run('openssl', [
      'req',
      ...EC,
      '-keyout',
      join(dir, 'server.key'),
      '-out',
      join(dir, 'server.csr'),
      '-subj',
      '/CN=127.0.0.1',
    ]);
    await writeFile(
      join(dir, 'server.ext'),
      'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      join(dir, 'server.csr'),
      '-CA',
      join(dir, 'ca.crt'),
      '-CAkey',
      join(dir, 'ca.key'),
      '-CAcreateserial',
      '-out',
      join(dir, 'server.crt'),
      '-days',
      '2',
      '-extfile',
      join(dir, 'server.ext'),
    ]);
    const text = (f: string) => readFile(join(dir, f), 'utf8');
    return {
      dir,
      caFile: join(dir, 'ca.crt'),
      caPem: await text('ca.crt'),
      serverCert: await text('server.crt'),
      serverKey: await text('server.key'),
      otherCaFile: join(dir, 'other-ca.crt'),
      otherCaPem: await text('other-ca.crt'),
    };
  })();
  return made;
}
