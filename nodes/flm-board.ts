import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { DEFAULT_BAUD, createBoardLink, parseBoardProtocol, type BoardLink, type BoardProtocol, type LinkOutput } from '../core/flx/board-link';
import { BOARD_BATCH_TOPIC } from '../core/mqtt/board-batch';
import { BOARD_AVAILABILITY_TOPIC, BOARD_KUBE_TOPIC, BOARD_TIME_TOPIC } from '../core/mqtt/topics';
import { ReconnectingSource, type SourceState } from '../core/link/reconnecting';
import { serialPortConnector, listSerialPorts } from '../core/link/serial-port';
import { Watchdog } from '../core/link/watchdog';
import { RateLimiter } from '../core/link/rate-limit';
import type { FlmDeviceNode } from './flm-device';
import { Status } from './lib/status';
import { onCloseBounded, errorText, statusText } from './lib/close';
import { numberSetting, textSetting } from './lib/settings';
import { sourceStandby } from './lib/source-switch';
import { Rejects } from './lib/rejects';

interface BoardDef extends NodeDef {
  device: string;
  /** 'flm03' (also when absent: flows from before FLM02) or 'flm02' */
  protocol?: string;
  /** serial port path; `${FLM_SERIAL_PORT}` unset means: idle */
  port: string;
  baud: string | number;
  /** seconds without a frame before the board counts as offline; 0: no watchdog */
  watchdog: string | number;
  /** Kube radio group for the board; blank: leave the board's */
  kubeGroup: string | number;
  /** empty: always; else the source kind that activates this node (`${FLM_SOURCE}` in the default flow) */
  when?: string;
}

/** Records of a board second wait this long for the rest of that second before going out anyway. */
const FLUSH_MS = 150;

export default function (RED: NodeAPI): void {
  RED.httpAdmin.get('/flm-board/serialports', RED.auth.needsPermission('flm-board.read'), (_req, res) => {
    listSerialPorts().then((paths) => res.json(paths), () => res.json([]));
  });

  function FlmBoard(this: Node, def: BoardDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const logLimiter = new RateLimiter(60_000);
    const rejects = new Rejects(node);
    let closed = false;
    let path: string, baud: number, watchdogMs: number, kubeGroup: number | undefined, protocol: BoardProtocol;
    try {
      const standby = sourceStandby(def.when, 'board');
      if (standby) return status.idle(standby);
      protocol = parseBoardProtocol(textSetting(def.protocol, 'flm03'));
      path = textSetting(def.port);
      baud = numberSetting(def.baud, DEFAULT_BAUD[protocol], 'baud rate', (n) => Number.isInteger(n) && n >= 300 && n <= 4_000_000);
      watchdogMs = Math.round(numberSetting(def.watchdog, 15, 'watchdog', (n) => n === 0 || n >= 0.5) * 1000);
      const group = textSetting(def.kubeGroup);
      kubeGroup = group === '' ? undefined : numberSetting(group, 0, 'Kube group', (n) => Number.isInteger(n) && n >= 0 && n <= 255);
    } catch (err) {
      status.failed(err);
      return;
    }
    const deviceNode = RED.nodes.getNode(def.device) as FlmDeviceNode | null;
    if (!deviceNode) {
      status.failed(new Error('no flm-device configured: pick or add one in the node settings'));
      return;
    }
    if (!path) {
      // e.g. ${FLM_SERIAL_PORT} in a flow that runs without a board: nothing to do, nothing wrong.
      status.idle('no serial port set');
      return;
    }

    let session: BoardLink | undefined;
    let src: ReconnectingSource | undefined;
    let sourceState: SourceState | undefined;
    let availability: 'online' | 'offline' | undefined;
    let flushTimer: NodeJS.Timeout | undefined;
    let tickTimer: NodeJS.Timeout | undefined;
    let clockNote = '';

    const send = (topic: string, payload: unknown) => {
      if (!closed) node.send({ topic, payload } as NodeMessage);
    };
    const setAvailability = (a: 'online' | 'offline') => {
      if (a === availability || closed) return;
      availability = a;
      send(BOARD_AVAILABILITY_TOPIC, a);
    };
    const warnOnce = (key: string, text: string) => {
      const report = logLimiter.take(key, text);
      if (report) node.warn(report);
    };

    const render = () => {
      if (closed || !session) return;
      const failing = sourceState?.state === 'waiting' && sourceState.error ? sourceState : undefined;
      const why = failing ? ((failing.error as NodeJS.ErrnoException).code ?? statusText(failing.error, 24)) : '';
      if (watchdog.stale) return status.warn(`no data for ${Math.round(watchdog.silentMs / 1000)} s${why ? ` · ${why}` : ''}`);
      if (failing) return status.warn(`${why} · retry in ${Math.max(1, Math.round(failing.delayMs / 1000))} s`);
      if (session.stats.frames === 0) return status.idle(sourceState?.state === 'connected' ? 'connected · waiting' : 'connecting');
      status.ok(`${session.summary()}${clockNote}`);
    };

    const watchdog = new Watchdog(watchdogMs, (silentMs, fires) => {
      if (closed) return;
      if (fires === 1) {
        setAvailability('offline');
        warnOnce('silent', `no frame for ${Math.round(silentMs / 1000)} s from ${path}; reconnecting`);
      }
      render();
    });

    const write = (frames: Uint8Array[]) => {
      for (const f of frames) {
        src?.write(f).catch((err: unknown) => warnOnce(`write:${errorText(err)}`, `cannot write to the board: ${errorText(err)}`));
      }
    };
    const sendBatches = (batches: LinkOutput['batches']) => {
      for (const b of batches) send(BOARD_BATCH_TOPIC, b);
    };

    const handle = (out: LinkOutput) => {
      write(out.writes);
      sendBatches(out.batches);
      for (const e of out.events) {
        if (e.type === 'time') {
          const d = e.decision;
          if (d.action === 'step-board') node.log(`board clock ${d.driftSeconds > 0 ? '+' : ''}${d.driftSeconds} s off: set to ${new Date(d.hostTime * 1000).toISOString()}`);
          if (d.action === 'adopt-board-clock') warnOnce('adopt', 'the host clock is not set: readings carry the board\'s clock until it is');
          clockNote = d.action === 'adopt-board-clock' ? ' · board clock' : d.action === 'step-board' ? ' · clock set' : '';
          send(BOARD_TIME_TOPIC, { ...d.report, action: d.action });
        } else if (e.type === 'kube') {
          const p = e.packet;
          send(BOARD_KUBE_TOPIC, { group: p.group, nid: p.header.nid, kind: p.kind, ack: p.header.ack, payload: Buffer.from(p.payload).toString('hex') });
        } else if (e.type === 'kube-error') {
          warnOnce('kube', `Kube packet dropped: ${e.reason}`);
        } else if (e.type === 'warning') {
          warnOnce(e.key, e.text);
        } else if (e.type === 'note') {
          // rate-limited: a board that keeps pinging (it does not take the config) would say so every second
          const note = logLimiter.take(`note:${e.key}`, e.text);
          if (note) node.log(note);
        }
      }
    };

    // Data comes many times a second (faster still from an emulator): the counts are shown at most twice a second.
    let renderTimer: NodeJS.Timeout | undefined;
    const renderSoon = () => {
      renderTimer ??= setTimeout(() => {
        renderTimer = undefined;
        render();
      }, 500);
    };

    const flushSoon = () => {
      clearTimeout(flushTimer);
      flushTimer = setTimeout(() => session && !closed && sendBatches(session.flush()), FLUSH_MS);
    };

    status.idle('starting');
    deviceNode.ready.then((ctx) => {
      if (closed) return;
      session = createBoardLink(protocol, { sensors: ctx.device.sensors, phase: ctx.device.phase, validAfter: ctx.device.validAfter, kubeGroup });
      for (const p of session.configProblems) node.warn(`port config: ${p}`);
      const link = session; // an FLM02 board answers when asked: tick() polls it and gives up on lost replies
      if (link.tickMs > 0) tickTimer = setInterval(() => {
        try {
          if (!closed && sourceState?.state === 'connected') handle(link.tick(Date.now()));
        } catch (err) {
          rejects.error(`unexpected error while polling the board: ${errorText(err)}`);
        }
      }, link.tickMs);
      src = new ReconnectingSource({
        connect: serialPortConnector({ path, settings: { baudRate: baud, dataBits: 8, parity: 'none', stopBits: 1 } }),
        idleMs: watchdogMs,
        backoff: { initialMs: 1000, maxMs: 30_000 },
        onData: (chunk) => {
          if (closed || !session) return;
          try {
            const before = session.stats.frames;
            handle(session.push(chunk, Date.now()));
            if (session.stats.frames > before) {
              src!.frameSeen();
              watchdog.kick();
              setAvailability('online');
            }
            flushSoon();
            renderSoon();
          } catch (err) {
            rejects.error(`unexpected error while reading the board: ${errorText(err)}`);
          }
        },
        onState: (s) => {
          if (closed || !session) return;
          sourceState = s;
          if (s.state === 'connected') {
            node.log(`reading the FLM board on ${s.label}${protocol === 'flm02' ? ' (FLM02)' : ''}`);
            handle(session.connected(Date.now()));
          } else if (s.state === 'waiting') {
            const why = s.error ? `${s.reason}: ${errorText(s.error)}` : s.reason;
            const key = `source:${s.reason}:${(s.error as NodeJS.ErrnoException | undefined)?.code ?? s.error?.message ?? ''}`;
            warnOnce(key, `${path}: ${why}; retrying in ${Math.max(1, Math.round(s.delayMs / 1000))} s`);
          }
          render();
        },
      });
      watchdog.start();
      src.start();
      render();
    }, (err: unknown) => status.failed(err));

    onCloseBounded(node, async () => {
      // A board second still waiting is dropped, not sent into a closing flow: the board's totals
      // are running ones, so the next batch after the restart carries everything it counted.
      clearTimeout(flushTimer);
      clearTimeout(renderTimer);
      clearInterval(tickTimer);
      closed = true;
      watchdog.stop();
      await src?.stop();
      status.idle('stopped');
    }, 5000);
  }

  RED.nodes.registerType('flm-board', FlmBoard as never);
}
