import { randomBytes, createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic, readFileIfExists } from '../util/atomic-file';
import { keepPrivate } from '../util/private-file';
import { hex32 } from './schema';

export interface Identity {
  id: string;
  key: string;
}

export const IDENTITY_FILE = 'device.json';

/** A fresh 128-bit id or key from the CSPRNG, as 32 lowercase hex characters. */
function newHex32(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The device identity: the configured id/key when given, otherwise the one kept in
 * `<dataDir>/device.json`, created once (mode 0600, the key is a secret) when absent.
 */
export async function loadOrCreateIdentity(dataDir: string, configured: Partial<Identity> = {}): Promise<Identity> {
  const path = join(dataDir, IDENTITY_FILE);
  const text = await readFileIfExists(path);
  let stored: Partial<Identity> = {};
  if (text !== undefined) {
    // the key signs uploads and logs in to the bridge: a copy readable by others is closed
    await keepPrivate(path);
    try {
      stored = JSON.parse(text) as Partial<Identity>;
    } catch {
      throw new Error(`${path} is not valid JSON; fix or remove it (it holds the device id and key)`);
    }
    for (const k of ['id', 'key'] as const) {
      if (stored[k] !== undefined && !hex32.safeParse(stored[k]).success) {
        throw new Error(`${path}: "${k}" must be 32 lowercase hex characters`);
      }
    }
  }
  const identity: Identity = {
    id: configured.id || stored.id || newHex32(),
    key: configured.key || stored.key || newHex32(),
  };
  // Only what we generated needs keeping; configured values live in the flow already.
  const generated = identity.id !== (configured.id || stored.id) || identity.key !== (configured.key || stored.key);
  if (generated) await writeFileAtomic(path, JSON.stringify(identity, null, 2) + '\n', 0o600);
  return identity;
}

/**
 * A stable sensor id for a sensor that has none: derived from the device id and a label
 * (the config section number, or a meter's equipment id), so it survives restarts and
 * differs between devices.
 */
export function deriveSensorId(deviceId: string, label: string): string {
  return createHash('sha256').update(`flm-sensor\0${deviceId}\0${label}`).digest('hex').slice(0, 32);
}
