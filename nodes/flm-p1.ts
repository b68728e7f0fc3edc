import { P1_TELEGRAM_TOPIC, P1_AVAILABILITY_TOPIC, P1_ERROR_TOPIC } from '../core/mqtt/topics';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { CrcMode, CrcVariant } from '../core/p1/check';
import type { SmartyKeys } from '../core/p1/smarty';
import { meterZone, DEFAULT_METER_ZONE_NAME, type MeterZone } from '../core/p1/time';
import { P1Stream, type P1StreamEvent } from '../core/p1/source/stream';
import { ReconnectingSource, type Connector, type SourceState } from '../core/link/reconnecting';
import { Watchdog } from '../core/link/watchdog';
import { RateLimiter } from '../core/link/rate-limit';
import { tcpConnector, parseHostPort } from '../core/p1/source/tcp';
import { serialConnector, listSerialPorts, SERIAL_MODES, type SerialMode } from '../core/p1/source/serial';
import { Status } from './lib/status';
import { onCloseBounded, errorText, statusText } from './lib/close';
import { numberSetting, textSetting } from './lib/settings';
import { sourceStandby } from './lib/source-switch';
import type { Send, Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';

interface P1Def extends NodeDef {
  /** serial | tcp | input */
  source: string;
  /** serial port path */
  port: string;
  /** 115200-8N1 | 9600-7E1 | auto */
  serial: string;
  /** host:port */
  tcp: string;
  /** strict | warn | off */
  crc: string;
  /** arc | x25 | auto */
  variant: string;
  /** empty: always; else the source kind that activates this node (`${FLM_SOURCE}` in the default flow) */
  when?: string;
  /** seconds without a telegram before the source counts as offline; 0: no watchdog */
  watchdog: string | number;
  /** the meter's IANA time zone; blank: Europe/Brussels */
  zone?: string;
}

interface P1Credentials {
  /** Smarty decryption key (GUEK), 32 hex */
  key?: string;
  /** Smarty authentication key; blank: the specification's default, "none": no AAD */
  authKey?: string;
}

const SOURCES = ['serial', 'tcp', 'input'] as const;
type Source = (typeof SOURCES)[number];
const CRC_MODES: readonly CrcMode[] = ['strict', 'warn', 'off'];
const VARIANTS: readonly CrcVariant[] = ['arc', 'x25', 'auto'];
/** DSMR 2.2 and 4 meters send every 10 s: an auto-detect attempt that frames nothing for longer switches settings. */
const AUTO_PROBE_MS = 11_000;
const UNRESOLVED = /^\$\{(\w+)\}$/;

interface Settings {
  source: Source;
  connector?: Connector;
  label: string;
  mode: CrcMode;
  variant: CrcVariant;
  watchdogMs: number;
  probeMs: number;
  smarty?: SmartyKeys;
  zone: MeterZone;
}

export default function (RED: NodeAPI): void {
  RED.httpAdmin.get('/flm-p1/serialports', RED.auth.needsPermission('flm-p1.read'), (_req, res) => {
    listSerialPorts().then((paths) => res.json(paths), () => res.json([]));
  });

  /** A credential may name an environment variable as `${NAME}`; credentials are not substituted by Node-RED. */
  const credential = (node: Node, v: string | undefined, what: string): string => {
    const t = (v ?? '').trim();
    const m = UNRESOLVED.exec(t);
    if (!m) return t;
    const util = RED.util as unknown as { getSetting?: (n: Node, name: string) => unknown };
    const value = util.getSetting?.(node, m[1]!) ?? process.env[m[1]!];
    if (value === undefined || value === '') throw new Error(`${what}: environment variable ${m[1]} is not set`);
    return String(value).trim();
  };

  function readSettings(node: Node<P1Credentials>, def: P1Def): Settings {
    const source = textSetting(def.source, 'serial') as Source;
    if (!SOURCES.includes(source)) throw new Error(`source: "${source}" is not serial, tcp or input`);
    const mode = textSetting(def.crc, 'strict') as CrcMode;
    if (!CRC_MODES.includes(mode)) throw new Error(`CRC mode: "${mode}" is not strict, warn or off`);
    const variant = textSetting(def.variant, 'arc') as CrcVariant;
    if (!VARIANTS.includes(variant)) throw new Error(`CRC variant: "${variant}" is not arc, x25 or auto`);
    const zone = meterZone(textSetting(def.zone, DEFAULT_METER_ZONE_NAME));
    const watchdogMs = Math.round(numberSetting(def.watchdog, 30, 'watchdog', (n) => n === 0 || n >= 0.5) * 1000);
    const key = credential(node, node.credentials?.key, 'Smarty key');
    const authText = credential(node, node.credentials?.authKey, 'Smarty authentication key');
    const smarty: SmartyKeys | undefined = key
      ? { key, ...(authText === '' ? {} : { authKey: authText.toLowerCase() === 'none' ? null : authText }) }
      : undefined;
    let connector: Connector | undefined;
    let label = 'msg.payload';
    let probeMs = 0;
    if (source === 'serial') {
      const path = textSetting(def.port);
      if (!path) throw new Error('serial port: no path set (e.g. /dev/ttyUSB0 or /dev/serial/by-id/…)');
      const serial = textSetting(def.serial, '115200-8N1') as SerialMode;
      if (!SERIAL_MODES.includes(serial)) throw new Error(`serial settings: "${serial}" is not 115200-8N1, 9600-7E1 or auto`);
      connector = serialConnector({ path, mode: serial });
      label = path;
      if (serial === 'auto') probeMs = watchdogMs > 0 ? Math.min(AUTO_PROBE_MS, watchdogMs) : AUTO_PROBE_MS;
    } else if (source === 'tcp') {
      const target = textSetting(def.tcp);
      if (!target) throw new Error('TCP: no host:port set (e.g. 192.168.1.20:2001 for ser2net)');
      const hp = parseHostPort(target);
      connector = tcpConnector(hp);
      label = target;
    }
    return { source, connector, label, mode, variant, watchdogMs, probeMs, smarty, zone };
  }

  function FlmP1(this: Node<P1Credentials>, def: P1Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const logLimiter = new RateLimiter(60_000);
    const rejects = new Rejects(node);
    let closed = false;
    let settings: Settings;
    let stream: P1Stream;
    try {
      const standby = sourceStandby(def.when, 'p1');
      if (standby) {
        status.idle(standby);
        node.on('input', (_msg: NodeMessageInFlow, _send: Send, done: Done) => done());
        return;
      }
      settings = readSettings(node, def);
      stream = new P1Stream({ mode: settings.mode, variant: settings.variant, smarty: settings.smarty, zone: settings.zone, latestOnly: true });
    } catch (err) {
      const failure = err instanceof Error ? err : new Error(String(err));
      status.error(statusText(failure, 40));
      node.error(errorText(failure));
      node.on('input', (_msg: NodeMessageInFlow, _send: Send, done: Done) => done(failure));
      return;
    }

    let availability: 'online' | 'offline' | undefined;
    let lastOk = true;
    let sourceState: SourceState | undefined;
    let src: ReconnectingSource | undefined;

    const setAvailability = (a: 'online' | 'offline') => {
      if (a === availability || closed) return;
      availability = a;
      node.send({ topic: P1_AVAILABILITY_TOPIC, payload: a } as NodeMessage);
    };

    const shortError = (err: Error & { code?: string; disconnected?: boolean }): string =>
      err.disconnected ? 'disconnected' : err.code ?? statusText(err, 24);

    const render = () => {
      if (closed) return;
      const s = stream.stats;
      const failing = sourceState?.state === 'waiting' && sourceState.error ? sourceState : undefined;
      if (watchdog.stale) {
        const secs = Math.round(watchdog.silentMs / 1000);
        return status.warn(`no data for ${secs} s${failing ? ` · ${shortError(failing.error!)}` : ''}`);
      }
      if (failing) return status.warn(`${shortError(failing.error!)} · retry in ${Math.max(1, Math.round(failing.delayMs / 1000))} s`);
      if (s.good + s.badCrc + s.unparsable + s.decryptFailed === 0) {
        if (settings.source === 'input') return status.idle('waiting for telegrams');
        return sourceState?.state === 'connected' ? status.idle('connected · waiting') : status.idle('connecting');
      }
      const parts = [`${s.good} ok`];
      if (s.badCrc) parts.push(`${s.badCrc} crc`);
      if (s.unparsable) parts.push(`${s.unparsable} bad`);
      if (s.decryptFailed) parts.push(`${s.decryptFailed} key`);
      // A backlog read in one go (a dongle reconnecting) keeps its newest telegram only: said, not hidden.
      if (s.backlogDropped) parts.push(`${s.backlogDropped} skipped`);
      const text = parts.join(' · ');
      if (lastOk) status.ok(text);
      else status.error(text);
    };

    const watchdog = new Watchdog(settings.watchdogMs, (silentMs, fires) => {
      if (closed) return;
      if (fires === 1) {
        setAvailability('offline');
        const report = logLimiter.take('silent', `no telegram for ${Math.round(silentMs / 1000)} s from ${settings.label}${src ? '; reconnecting' : ''}`);
        if (report) node.warn(report);
      }
      render();
    });

    /**
     * What the stream made of some input. Telegrams leave on the output; errors are counted and
     * reported rate-limited. Returns the error to hand to `done` for an input message, if any.
     */
    const handle = (events: P1StreamEvent[], send: Send, inMsg?: NodeMessageInFlow): Error | undefined => {
      let failure: Error | undefined;
      for (const e of events) {
        if (e.type === 'telegram') {
          lastOk = true;
          watchdog.kick();
          setAvailability('online');
          if (e.warning) node.warn(e.warning);
          const out = (inMsg ?? {}) as NodeMessage & { p1?: unknown };
          out.topic = P1_TELEGRAM_TOPIC;
          out.payload = e.telegram;
          out.p1 = { check: e.check, raw: e.raw };
          send(out);
          continue;
        }
        lastOk = false;
        if (!e.report) continue;
        const err = new Error(e.report);
        if (inMsg) failure = err;
        else node.error(err.message, { topic: P1_ERROR_TOPIC, payload: e.raw ?? '', p1: { kind: e.kind, check: e.check, raw: e.raw } } as NodeMessage);
      }
      render();
      return failure;
    };

    if (settings.source === 'input') {
      node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
        try {
          const p = msg.payload;
          if (typeof p !== 'string' && !Buffer.isBuffer(p)) {
            return rejects.fail(done, new Error(`msg.payload must be telegram text or a Buffer, not ${p === null ? 'null' : typeof p}`));
          }
          const failure = handle(stream.pushMessage(p), send, msg);
          done(failure);
        } catch (err) {
          rejects.fail(done, err);
        }
      });
    } else {
      node.on('input', (_msg: NodeMessageInFlow, _send: Send, done: Done) =>
        done(new Error(`this node reads P1 from ${settings.label}; set its source to "input" to parse msg.payload`)));
      src = new ReconnectingSource({
        connect: settings.connector!,
        // A connection that frames nothing for the watchdog time is dropped and opened again.
        idleMs: settings.watchdogMs,
        probeMs: settings.probeMs,
        backoff: { initialMs: 1000, maxMs: 30_000 },
        onData: (chunk) => {
          if (closed) return;
          try {
            const events = stream.push(chunk);
            if (events.length) src!.frameSeen();
            handle(events, (m) => node.send(m as NodeMessage));
          } catch (err) {
            // Never let a parsing surprise escape into the serial or socket callback.
            rejects.error(`unexpected error while reading P1: ${errorText(err)}`);
          }
        },
        onState: (s) => {
          if (closed) return;
          sourceState = s;
          if (s.state === 'connected') {
            stream.reset();
            node.log(`reading P1 from ${s.label}`);
          } else if (s.state === 'waiting') {
            const why = s.error ? `${s.reason}: ${errorText(s.error)}` : s.reason;
            // One line per kind of trouble a minute: a port that is gone fails the same way every retry.
            const key = `source:${s.reason}:${(s.error as NodeJS.ErrnoException | undefined)?.code ?? s.error?.message ?? ''}`;
            const report = logLimiter.take(key, `${settings.label}: ${why}; retrying in ${Math.max(1, Math.round(s.delayMs / 1000))} s`);
            if (report) node.warn(report);
          }
          render();
        },
      });
    }

    render();
    watchdog.start();
    src?.start();

    onCloseBounded(node, async () => {
      closed = true;
      watchdog.stop();
      await src?.stop();
      status.idle('stopped');
    }, 5000);
  }

  RED.nodes.registerType('flm-p1', FlmP1 as never, {
    credentials: { key: { type: 'password' }, authKey: { type: 'password' } },
  });
}
