import type { SerialPort as SerialPortClass } from 'serialport';
import type { Connection, ConnectionHandlers, ConnectContext, Connector } from './reconnecting';

/**
 * A serial port as a reconnectable, writable byte transport (P1 cables, FLM sensor boards).
 * serialport is loaded on first use, so flows that read over TCP or MQTT work even where its
 * native part cannot load.
 */

export interface SerialSettings {
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
}

const PARITY_LETTER = { none: 'N', even: 'E', odd: 'O' } as const;

export const describeSerial = (s: SerialSettings): string =>
  `${s.baudRate} ${s.dataBits}${PARITY_LETTER[s.parity]}${s.stopBits}`;

type SerialPortCtor = typeof SerialPortClass;

let loaded: Promise<SerialPortCtor> | undefined;
/** serialport's SerialPort class, loaded once. */
function loadSerialPort(): Promise<SerialPortCtor> {
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

export interface SerialPortOptions {
  path: string;
  /** fixed settings, or a choice per attempt (P1 auto-detect switches after a silent one) */
  settings: SerialSettings | ((context: ConnectContext) => SerialSettings);
  /** for tests: another SerialPort class (e.g. serialport's SerialPortMock) */
  SerialPort?: SerialPortCtor;
  /** how long a close may take before it is given up on (default 2 s) */
  closeTimeoutMs?: number;
}

export function serialPortConnector(options: SerialPortOptions): Connector {
  return async (handlers: ConnectionHandlers, context: ConnectContext) => {
    const SerialPort = options.SerialPort ?? (await loadSerialPort());
    const settings = typeof options.settings === 'function' ? options.settings(context) : options.settings;
    const port = new SerialPort({
      path: options.path,
      baudRate: settings.baudRate,
      dataBits: settings.dataBits,
      parity: settings.parity,
      stopBits: settings.stopBits,
      // No exclusive lock: a stale one left by a previous deploy must not keep the device away.
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
    const write = (data: Uint8Array) =>
      new Promise<void>((resolve, reject) => {
        if (!port.isOpen) return reject(new Error(`${options.path} is not open`));
        port.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength), (err) =>
          err ? reject(withCode(err)) : resolve(),
        );
      });
    return { label, close, write } satisfies Connection;
  };
}

const ERRNO: Array<[RegExp, string]> = [
  [/No such file or directory/i, 'ENOENT'],
  [/Permission denied/i, 'EACCES'],
  [/Inappropriate ioctl/i, 'ENOTTY'],
  [/Resource (temporarily unavailable|busy)|Cannot lock port/i, 'EBUSY'],
];

/** serialport's native errors carry no `code`; give them the errno name their text stands for. */
function withCode(err: Error): Error & { code?: string } {
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
