import { crc8Dallas } from './crc8';

/**
 * The FLM02 sensor-board control protocol (docs/protocols/sensor-board.md#flm02-commands): ASCII
 * frames `l<cmd><args><crc>.`, two command letters, arguments as fixed-width big-endian lowercase
 * hex, and a CRC-8 Dallas over command and arguments as two hex digits. The board answers with the
 * same command letters and the fields of the table below, under its own CRC.
 *
 * Decoders never throw: a damaged frame comes back as `{ok: false}` with the reason. Encoders
 * throw RangeError on arguments that do not fit, since that is a bug in the caller.
 */

/** hex digits of a u8, u16, u32 */
type Width = 2 | 4 | 8;

interface CommandShape {
  request: readonly Width[];
  /** 'delta' = gd's list of 22-character records */
  reply: readonly Width[] | 'delta';
}

const U8: Width = 2;
const U16: Width = 4;
const U32: Width = 8;

export const FLM02_COMMANDS = {
  gh: { request: [], reply: [U16, U8] },
  sh: { request: [U16, U8], reply: [U16, U8] },
  gs: { request: [], reply: [U8, U8] },
  ss: { request: [U8, U8], reply: [U8, U8] },
  ge: { request: [U8], reply: [U8, U8] },
  se: { request: [U8, U8], reply: [U8, U8] },
  gp: { request: [], reply: [U8, U8, U8, U8, U8, U8] },
  sp: { request: [U8, U8, U8, U8, U8, U8], reply: [U8, U8, U8, U8, U8, U8] },
  gc: { request: [U8], reply: [U8, U32] },
  sc: { request: [U8, U32], reply: [U8, U32] },
  gm: { request: [U8], reply: [U8, U16] },
  sm: { request: [U8, U16], reply: [U8, U16] },
  gf: { request: [U8], reply: [U8, U16] },
  sf: { request: [U8, U16], reply: [U8, U16] },
  gw: { request: [], reply: [U16] },
  sw: { request: [U16], reply: [U16] },
  gb: { request: [], reply: [U16] },
  sb: { request: [U16], reply: [U16] },
  gd: { request: [], reply: 'delta' },
  gk: { request: [], reply: [U8, U8, U8] },
  sk: { request: [U8, U8, U8], reply: [U8, U8, U8] },
  gi: { request: [], reply: [U8] },
  si: { request: [U8], reply: [U8] },
  sg: { request: [U8], reply: [U8] },
  ct: { request: [], reply: [] },
  rt: { request: [U8, U8], reply: [U8, U8] },
  /** the board's answer to a request whose CRC failed */
  zz: { request: [], reply: [] },
  /** the board's answer to a request shorter than two characters */
  zy: { request: [], reply: [] },
} as const satisfies Record<string, CommandShape>;

export type Flm02Command = keyof typeof FLM02_COMMANDS;

/** One logical sensor's entry in a gd reply (docs/protocols/sensor-board.md#flm02-delta). */
export interface Flm02DeltaRecord {
  /** logical sensor, 0..5 */
  sensor: number;
  /** absolute counter, whole units */
  counter: number;
  /** thousandths of a unit (pulse sensors with a fractional constant) */
  milli: number;
  /** analog: power in W; pulse: AVR ms time of the last pulse */
  extra: number;
}

export interface Flm02Message {
  cmd: Flm02Command;
  /** the fields in table order; empty for gd */
  values: number[];
  /** gd only */
  records?: Flm02DeltaRecord[];
}

export type Flm02ErrorReason = 'frame' | 'crc' | 'command' | 'args';
export type Flm02Decoded =
  { ok: true; message: Flm02Message } | { ok: false; reason: Flm02ErrorReason; detail: string };

const FLM02_DELTA_RECORD_CHARS = 22;

const isCommand = (s: string): s is Flm02Command => Object.prototype.hasOwnProperty.call(FLM02_COMMANDS, s);

function hex(value: number, width: Width, what: string): string {
  if (!Number.isInteger(value) || value < 0 || value >= 16 ** width) {
    throw new RangeError(`${what}: ${value} does not fit ${width / 2} byte(s)`);
  }
  return value.toString(16).padStart(width, '0');
}

const crcHex = (body: string): string => crc8Dallas(body).toString(16).padStart(2, '0');

function frame(body: string): string {
  return `l${body}${crcHex(body)}.`;
}

function encodeArgs(cmd: Flm02Command, widths: readonly Width[], values: readonly number[]): string {
  if (values.length !== widths.length) {
    throw new RangeError(`${cmd} takes ${widths.length} argument(s), got ${values.length}`);
  }
  return widths.map((w, i) => hex(values[i]!, w, `${cmd} argument ${i + 1}`)).join('');
}

/** A request frame, e.g. `encodeFlm02Request('gd')` → `lgd30.` */
export function encodeFlm02Request(cmd: Flm02Command, args: readonly number[] = []): string {
  return frame(cmd + encodeArgs(cmd, FLM02_COMMANDS[cmd].request, args));
}

/** A reply frame as the board sends it; for gd pass the records instead of values. */
export function encodeFlm02Reply(
  cmd: Flm02Command,
  values: readonly number[] = [],
  records: readonly Flm02DeltaRecord[] = [],
): string {
  const shape = FLM02_COMMANDS[cmd].reply;
  if (shape === 'delta') {
    const body = records
      .map(
        (r) =>
          hex(r.sensor, U8, 'sensor') +
          hex(r.counter, U32, 'counter') +
          hex(r.milli, U16, 'milli') +
          hex(r.extra, U32, 'extra'),
      )
      .join('');
    return frame(cmd + body);
  }
  return frame(cmd + encodeArgs(cmd, shape, values));
}

const HEX = /^[0-9a-fA-F]*$/;

/** Splits `l<cmd><args><crc>.` (the trailing `.` optional, as spid accepts) and checks the CRC. */
function unframe(
  text: string,
): { ok: true; cmd: Flm02Command; args: string } | { ok: false; reason: Flm02ErrorReason; detail: string } {
  let s = text;
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (!s.startsWith('l')) return { ok: false, reason: 'frame', detail: 'does not start with "l"' };
  s = s.slice(1);
  if (s.length < 4) return { ok: false, reason: 'frame', detail: `"${clip(text)}" is too short for command and CRC` };
  const body = s.slice(0, -2);
  const crcText = s.slice(-2);
  if (!HEX.test(crcText)) return { ok: false, reason: 'frame', detail: `CRC "${clip(crcText)}" is not hex` };
  const want = crc8Dallas(body);
  if (parseInt(crcText, 16) !== want) {
    return { ok: false, reason: 'crc', detail: `CRC ${crcText} does not match ${want.toString(16).padStart(2, '0')}` };
  }
  const cmd = body.slice(0, 2);
  if (!isCommand(cmd)) return { ok: false, reason: 'command', detail: `unknown command "${clip(cmd)}"` };
  const args = body.slice(2);
  if (!HEX.test(args)) return { ok: false, reason: 'args', detail: `arguments "${clip(args)}" are not hex` };
  return { ok: true, cmd, args };
}

function decodeFields(cmd: Flm02Command, widths: readonly Width[], args: string): Flm02Decoded {
  const want = widths.reduce((a, w) => a + w, 0);
  if (args.length !== want) {
    return { ok: false, reason: 'args', detail: `${cmd} carries ${want} hex digits of arguments, got ${args.length}` };
  }
  const values: number[] = [];
  let at = 0;
  for (const w of widths) {
    values.push(parseInt(args.slice(at, at + w), 16));
    at += w;
  }
  return { ok: true, message: { cmd, values } };
}

/** A request as the board reads it (for an emulator). */
export function decodeFlm02Request(text: string): Flm02Decoded {
  const u = unframe(text);
  if (!u.ok) return u;
  return decodeFields(u.cmd, FLM02_COMMANDS[u.cmd].request, u.args);
}

/** A control reply from the board. */
export function decodeFlm02Reply(text: string): Flm02Decoded {
  const u = unframe(text);
  if (!u.ok) return u;
  const shape = FLM02_COMMANDS[u.cmd].reply;
  if (shape !== 'delta') return decodeFields(u.cmd, shape, u.args);
  if (u.args.length % FLM02_DELTA_RECORD_CHARS !== 0) {
    return {
      ok: false,
      reason: 'args',
      detail: `gd reply of ${u.args.length} hex digits is not a whole number of 22-digit records`,
    };
  }
  const records: Flm02DeltaRecord[] = [];
  for (let at = 0; at < u.args.length; at += FLM02_DELTA_RECORD_CHARS) {
    const r = u.args.slice(at, at + FLM02_DELTA_RECORD_CHARS);
    records.push({
      sensor: parseInt(r.slice(0, 2), 16),
      counter: parseInt(r.slice(2, 10), 16),
      milli: parseInt(r.slice(10, 14), 16),
      extra: parseInt(r.slice(14, 22), 16),
    });
  }
  return { ok: true, message: { cmd: 'gd', values: [], records } };
}

/**
 * spid's human-readable form, "two letters, space, decimal fields" (e.g. `gh 2 2`, `se 0 1`);
 * fsync treats a set as done when the reply reads the same as the request.
 */
export function formatFlm02(message: Flm02Message): string {
  return [message.cmd, ...message.values].join(' ');
}

/**
 * What one SPI read returns (docs/protocols/sensor-board.md#flm02-frames): `l` + control reply +
 * `.`, then `u` + radio/UART hex.
 */
export interface Flm02Read {
  /** the control reply frame (`l…`), or null when the board had none */
  control: string | null;
  /** radio/UART bytes */
  uart: Uint8Array;
}

const READ = /^l([0-9a-zA-Z]*)\.?u([0-9a-zA-Z]*)\.?\0*$/;

/** Splits a whole read into control reply and radio bytes; null when it does not have that shape. */
export function parseFlm02Read(text: string): Flm02Read | null {
  const m = READ.exec(text);
  if (!m) return null;
  const hexText = m[2]!;
  if (hexText.length % 2 !== 0 || !HEX.test(hexText)) return null;
  const uart = new Uint8Array(hexText.length / 2);
  for (let i = 0; i < uart.length; i++) uart[i] = parseInt(hexText.slice(2 * i, 2 * i + 2), 16);
  return { control: m[1] ? `l${m[1]}.` : null, uart };
}

/** A whole read as the board produces it, ending in the 0x00 that stops the master reading. */
export function encodeFlm02Read(control: string | null, uart: Uint8Array = new Uint8Array(0)): string {
  const reply = control === null ? 'l.' : control.endsWith('.') ? control : `${control}.`;
  let hexText = '';
  for (const b of uart) hexText += b.toString(16).padStart(2, '0');
  return `${reply}u${hexText}\0`;
}

/** The request for a radio/UART send: `u` + payload hex, no CRC at this layer. */
export function encodeFlm02Uart(payload: Uint8Array): string {
  let s = 'u';
  for (const b of payload) s += b.toString(16).padStart(2, '0');
  return s;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
