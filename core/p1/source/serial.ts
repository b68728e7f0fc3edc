import type { SerialPort as SerialPortClass } from 'serialport';
import type { Connection, ConnectionHandlers, ConnectContext, Connector } from './reconnecting';

/**
 * P1 over a serial port: DSMR 4 and 5 meters send 115200 8N1, DSMR 2.2 and 3 send 9600 7E1
 * (ecosystem.md §E, §G.7). `auto` starts at 115200 8N1 and switches whenever a connection
 * framed nothing, as openHAB does. serialport is loaded on first use, so flows that read P1
 * over TCP or MQTT work even where its native part cannot load.
 */

export interface SerialSettings {
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even';
  stopBits: 1;
}

export const SERIAL_PRESETS = {
  '115200-8N1': { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 },
  '9600-7E1': { baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 1 },
} as const satisfies Record<string, SerialSettings>;

export type SerialPreset = keyof typeof SERIAL_PRESETS;
export type SerialMode = SerialPreset | 'auto';
export const SERIAL_MODES: readonly SerialMode[] = ['115200-8N1', '9600-7E1', 'auto'];

export const describeSerial = (s: SerialSettings): string =>
  `${s.baudRate} ${s.dataBits}${s.parity === 'none' ? 'N' : 'E'}${s.stopBits}`;

type SerialPortCtor = typeof SerialPortClass;

let loaded: Promise<SerialPortCtor> | undefined;
/** serialport's SerialPort class, loaded once. */
export function loadSerialPort(): Promise<SerialPortCtor> {
  loaded ??= import('serialport').then((m) => m.SerialPort);
  return loaded;
}

/** Paths of the serial ports the system knows; [] when it cannot tell (no udevadm in a container). */
export async function listSerialPorts(): Promise<string[]> {
  try {
    const SerialPort = await loadSerialPort();
    const ports = await SerialPort.list();
    return ports.map((p) => p.path).sort();
  } catch {
    return [];
  }
}

export interface SerialOptions {
  path: string;
  /** a preset, auto-detect, or settings of one's own */
  mode: SerialMode | SerialSettings;
  /** for tests: another SerialPort class (e.g. serialport's SerialPortMock) */
  SerialPort?: SerialPortCtor;
  /** how long a close may take before it is given up on (default 2 s) */
  closeTimeoutMs?: number;
}

/** The settings an attempt uses: fixed ones always, auto ones switched after a silent connection. */
export class SerialSettingsChooser {
  private index = 0;
  private readonly order: SerialSettings[];

  constructor(readonly mode: SerialMode | SerialSettings) {
    if (typeof mode === 'object') this.order = [mode];
    else this.order = mode === 'auto' ? [SERIAL_PRESETS['115200-8N1'], SERIAL_PRESETS['9600-7E1']] : [SERIAL_PRESETS[mode]];
  }

  next(context: Pick<ConnectContext, 'previous'>): SerialSettings {
    if (context.previous === 'silent') this.index = (this.index + 1) % this.order.length;
    return this.order[this.index]!;
  }
}

export function serialConnector(options: SerialOptions): Connector {
  const chooser = new SerialSettingsChooser(options.mode);
  return async (handlers: ConnectionHandlers, context: ConnectContext) => {
    const SerialPort = options.SerialPort ?? (await loadSerialPort());
    const settings = chooser.next(context);
    const port = new SerialPort({
      path: options.path,
      baudRate: settings.baudRate,
      dataBits: settings.dataBits,
      parity: settings.parity,
      stopBits: settings.stopBits,
      // A stale lock from a previous deploy must not keep the meter away (nodered-notes.md §6.1).
      lock: false,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(withCode(err)) : resolve())));
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      handlers.closed(err);
    };
    port.on('data', (chunk: Buffer) => handlers.data(chunk));
    port.on('error', (err: Error) => {
      if (port.isOpen) port.close(() => undefined);
      end(err);
    });
    // serialport 13 reports a vanished device (USB unplugged, pty peer gone) as a close with
    // `disconnected`; a device that stays but goes quiet is the watchdog's job.
    port.on('close', (err?: Error & { disconnected?: boolean }) => {
      if (err?.disconnected && !/disconnected/.test(err.message)) err.message = `device disconnected (${err.message})`;
      end(err ?? undefined);
    });
    const label = `${options.path} ${describeSerial(settings)}`;
    const close = () => {
      ended = true; // our own close is no news to the caller
      return closePort(port, options.closeTimeoutMs ?? 2000);
    };
    return { label, close } satisfies Connection;
  };
}

const ERRNO: Array<[RegExp, string]> = [
  [/No such file or directory/i, 'ENOENT'],
  [/Permission denied/i, 'EACCES'],
  [/Inappropriate ioctl/i, 'ENOTTY'],
  [/Resource (temporarily unavailable|busy)|Cannot lock port/i, 'EBUSY'],
];

/** serialport's native errors carry no `code`; give them the errno name their text stands for. */
export function withCode(err: Error): Error & { code?: string } {
  const e = err as Error & { code?: string };
  if (e.code === undefined) {
    const hit = ERRNO.find(([re]) => re.test(e.message));
    if (hit) e.code = hit[1];
  }
  return e;
}

function closePort(port: InstanceType<SerialPortCtor>, boundMs: number): Promise<void> {
  quiet(port);
  if (!port.isOpen) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, boundMs);
    port.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** After we close a port ourselves, errors it still raises are of no interest, but must not go unhandled. */
function quiet(port: InstanceType<SerialPortCtor>): void {
  port.removeAllListeners('data');
  port.on('error', () => undefined);
}
