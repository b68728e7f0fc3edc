import { z } from 'zod';
import type { Node, NodeAPI } from 'node-red';
import type { CrcMode, CrcVariant } from '../../core/p1/check';
import type { SmartyKeys } from '../../core/p1/smarty';
import { meterZone, DEFAULT_METER_ZONE_NAME } from '../../core/p1/time';
import { setting, credentialSetting, textSetting } from './settings';

export interface P1Credentials {
  /** Smarty decryption key (GUEK), 32 hex */
  key?: string;
  /** Smarty authentication key; blank: the specification's default, "none": no AAD */
  authKey?: string;
}

/** `when` (the source kind that activates the node) is read by sourceStandby before these. */
export const p1Settings = z.object({
  source: setting.oneOf(
    ['serial', 'tcp', 'input'] as const,
    'serial',
    (s) => `source: "${s}" is not serial, tcp or input`,
  ),
  crc: setting.oneOf<CrcMode>(
    ['strict', 'warn', 'off'],
    'strict',
    (s) => `CRC mode: "${s}" is not strict, warn or off`,
  ),
  variant: setting.oneOf<CrcVariant>(
    ['arc', 'x25', 'auto'],
    'arc',
    (s) => `CRC variant: "${s}" is not arc, x25 or auto`,
  ),
  /** the meter's IANA time zone */
  zone: setting.read((v) => meterZone(textSetting(v, DEFAULT_METER_ZONE_NAME))),
  /** seconds without a telegram before the source counts as offline; 0: no watchdog */
  watchdog: setting.number(30, 'watchdog', (n) => n === 0 || n >= 0.5).transform((s) => Math.round(s * 1000)),
  /** serial port path */
  port: setting.text(),
  /** 115200-8N1 | 9600-7E1 | auto */
  serial: setting.text('115200-8N1'),
  /** host:port */
  tcp: setting.text(),
});

/** The Smarty keys from the node's credentials, `${VAR}` looked up as Node-RED would. */
export function smartyKeys(RED: NodeAPI, node: Node<P1Credentials>): SmartyKeys | undefined {
  const util = RED.util as unknown as { getSetting?: (n: Node, name: string) => unknown };
  const lookup = (name: string) => util.getSetting?.(node, name);
  const key = credentialSetting(lookup, node.credentials?.key, 'Smarty key');
  const auth = credentialSetting(lookup, node.credentials?.authKey, 'Smarty authentication key');
  if (!key) return undefined;
  return { key, ...(auth === '' ? {} : { authKey: auth.toLowerCase() === 'none' ? null : auth }) };
}
