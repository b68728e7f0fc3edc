import { z } from 'zod';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { CrcMode, CrcVariant } from '../core/p1/check';
import type { SmartyKeys } from '../core/p1/smarty';
import { meterZone, DEFAULT_METER_ZONE_NAME } from '../core/p1/time';
import { P1Reader, p1Transport } from '../core/source/p1-reader';
import { Status } from './lib/status';
import { onCloseBounded, errorText, statusText } from './lib/close';
import { setting, parseSettings, credentialSetting, textSetting } from './lib/settings';
import { serveSerialPorts } from './lib/serial-ports';
import { sourceStandby } from './lib/source-switch';
import type { Send, Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';
import { logTo } from './lib/controller';

type P1Def = NodeDef & Record<string, unknown>;
interface P1Credentials {
  /** Smarty decryption key (GUEK), 32 hex */
  key?: string;
  /** Smarty authentication key; blank: the specification's default, "none": no AAD */
  authKey?: string;
}

/** `when` (the source kind that activates the node) is read by sourceStandby before these. */
const schema = z.object({
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

export default function (RED: NodeAPI): void {
  serveSerialPorts(RED);

  function smartyKeys(node: Node<P1Credentials>): SmartyKeys | undefined {
    const util = RED.util as unknown as { getSetting?: (n: Node, name: string) => unknown };
    const lookup = (name: string) => util.getSetting?.(node, name);
    const key = credentialSetting(lookup, node.credentials?.key, 'Smarty key');
    const auth = credentialSetting(lookup, node.credentials?.authKey, 'Smarty authentication key');
    if (!key) return undefined;
    return { key, ...(auth === '' ? {} : { authKey: auth.toLowerCase() === 'none' ? null : auth }) };
  }

  function FlmP1(this: Node<P1Credentials>, def: P1Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const rejects = new Rejects(node);
    let reader: P1Reader;
    let source: string;
    try {
      const standby = sourceStandby(def.when, 'p1');
      if (standby) {
        status.idle(standby);
        node.on('input', (_msg: NodeMessageInFlow, _send: Send, done: Done) => done());
        return;
      }
      const s = parseSettings(schema, def);
      const smarty = smartyKeys(node);
      const { connect, label, probeMs } = p1Transport({ ...s, watchdogMs: s.watchdog });
      source = label;
      reader = new P1Reader({
        stream: { mode: s.crc, variant: s.variant, zone: s.zone, ...(smarty ? { smarty } : {}) },
        ...(connect ? { connect } : {}),
        label,
        watchdogMs: s.watchdog,
        probeMs,
        send: (out) => node.send(out as NodeMessage),
        reject: (text, details) => node.error(text, details as NodeMessage),
        log: logTo(node),
        status: (view) => status.show(view),
        unexpected: (err) => rejects.error(`unexpected error while reading P1: ${errorText(err)}`),
      });
      if (!connect) {
        node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
          try {
            const p = msg.payload;
            if (typeof p !== 'string' && !Buffer.isBuffer(p)) {
              return rejects.fail(
                done,
                new Error(`msg.payload must be telegram text or a Buffer, not ${p === null ? 'null' : typeof p}`),
              );
            }
            done(reader.message(p, (out) => send(Object.assign(msg, out))));
          } catch (err) {
            rejects.fail(done, err);
          }
        });
      } else {
        node.on('input', (_msg: NodeMessageInFlow, _send: Send, done: Done) =>
          done(new Error(`this node reads P1 from ${source}; set its source to "input" to parse msg.payload`)),
        );
      }
    } catch (err) {
      const failure = err instanceof Error ? err : new Error(String(err));
      status.error(statusText(failure, 40));
      node.error(errorText(failure));
      node.on('input', (_msg: NodeMessageInFlow, _send: Send, done: Done) => done(failure));
      return;
    }
    reader.start();
    onCloseBounded(
      node,
      async () => {
        await reader.stop();
        status.idle('stopped');
      },
      5000,
    );
  }

  RED.nodes.registerType('flm-p1', FlmP1 as never, {
    credentials: { key: { type: 'password' }, authKey: { type: 'password' } },
  });
}
