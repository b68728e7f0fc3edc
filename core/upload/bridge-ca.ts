import { readFile } from 'node:fs/promises';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * The CA the bridge trusts: PEM text as it is, anything else is a file path (the FLM keeps its
 * CA in /etc/ssl/certs/flukso.ca.crt). Blank: undefined, Node's own list of public CAs.
 */
export async function loadCa(setting: string): Promise<Buffer | undefined> {
  const s = setting.trim();
  if (s === '') return undefined;
  if (s.includes('-----BEGIN')) {
    if (!PEM_CERT.test(s))
      throw new Error(
        'the CA text is not a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)',
      );
    return Buffer.from(s);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(s);
  } catch (err) {
    throw new Error(`cannot read the CA file ${s}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!PEM_CERT.test(bytes.toString('latin1'))) throw new Error(`the CA file ${s} holds no PEM certificate`);
  return bytes;
}
