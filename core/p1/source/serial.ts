import type { SerialPort as SerialPortClass } from 'serialport';
import type { ConnectContext, Connector } from '../../link/reconnecting';
import { serialPortConnector, type SerialSettings } from '../../link/serial-port';

export { describeSerial, listSerialPorts, type SerialSettings } from '../../link/serial-port';

/**
 * P1 over a serial port: DSMR 4 and 5 meters send 115200 8N1, DSMR 2.2 and 3 send 9600 7E1
 * (docs/protocols/p1.md#serial-settings). `auto` starts at 115200 8N1 and switches whenever a
 * connection framed nothing, as openHAB does.
 */

const SERIAL_PRESETS = {
  '115200-8N1': { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 },
  '9600-7E1': { baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 1 },
} as const satisfies Record<string, SerialSettings>;

export type SerialPreset = keyof typeof SERIAL_PRESETS;
export type SerialMode = SerialPreset | 'auto';
export const SERIAL_MODES: readonly SerialMode[] = ['115200-8N1', '9600-7E1', 'auto'];

export interface SerialOptions {
  path: string;
  /** a preset, auto-detect, or settings of one's own */
  mode: SerialMode | SerialSettings;
  /** for tests: another SerialPort class (e.g. serialport's SerialPortMock) */
  SerialPort?: typeof SerialPortClass;
  /** how long a close may take before it is given up on (default 2 s) */
  closeTimeoutMs?: number;
}

/** The settings an attempt uses: fixed ones always, auto ones switched after a silent connection. */
export class SerialSettingsChooser {
  private index = 0;
  private readonly order: SerialSettings[];

  constructor(readonly mode: SerialMode | SerialSettings) {
    if (typeof mode === 'object') this.order = [mode];
    else
      this.order =
        mode === 'auto' ? [SERIAL_PRESETS['115200-8N1'], SERIAL_PRESETS['9600-7E1']] : [SERIAL_PRESETS[mode]];
  }

  next(context: Pick<ConnectContext, 'previous'>): SerialSettings {
    if (context.previous === 'silent') this.index = (this.index + 1) % this.order.length;
    return this.order[this.index]!;
  }
}

export function serialConnector(options: SerialOptions): Connector {
  const chooser = new SerialSettingsChooser(options.mode);
  return serialPortConnector({
    path: options.path,
    settings: (context) => chooser.next(context),
    ...(options.SerialPort ? { SerialPort: options.SerialPort } : {}),
    ...(options.closeTimeoutMs !== undefined ? { closeTimeoutMs: options.closeTimeoutMs } : {}),
  });
}
