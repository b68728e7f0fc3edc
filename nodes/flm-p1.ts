import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { P1Reader, p1Transport } from '../core/source/p1-reader';
import { Status, statusTranslator } from './lib/status';
import { onCloseBounded, errorText, statusText } from './lib/close';
import { parseSettings } from './lib/settings';
import { p1Settings, smartyKeys, type P1Credentials } from './lib/p1-settings';
import { serveSerialPorts } from './lib/serial-ports';
import { standbyPhrase } from './lib/source-switch';
import type { Send, Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';
import { logTo } from './lib/controller';

type P1Def = NodeDef & Record<string, unknown>;

export default function (RED: NodeAPI): void {
  serveSerialPorts(RED);

  function FlmP1(this: Node<P1Credentials>, def: P1Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node, statusTranslator(RED, 'flm-p1'));
    const rejects = new Rejects(node);
    let reader: P1Reader;
    let source: string;
    try {
      const standby = standbyPhrase(def.when, 'p1');
      if (standby) {
        status.idle(status.phrase(standby));
        node.on('input', (_msg: NodeMessageInFlow, _send: Send, done: Done) => done());
        return;
      }
      const s = parseSettings(p1Settings, def);
      const smarty = smartyKeys(RED, node);
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
        status.idle(status.say('stopped', 'stopped'));
      },
      5000,
    );
  }

  RED.nodes.registerType('flm-p1', FlmP1 as never, {
    credentials: { key: { type: 'password' }, authKey: { type: 'password' } },
  });
}
