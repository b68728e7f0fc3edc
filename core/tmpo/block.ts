/**
 * The TMPO block as data (docs/protocols/tmpo.md#block-format): a header and two delta arrays. The
 * decoder yields this shape, the encoder writes it, and compaction joins blocks in it.
 */

/** The sensor's configuration at block creation: whatever JSON the caller passes. */
export type SensorCfg = Record<string, unknown>;

/** A sample as `[unix seconds, value]`. */
export type Sample = [time: number, value: number];

export interface TmpoHeader {
  head: Sample;
  tail: Sample;
  /** 1 on every block since the FLM added it; absent on blocks of the earliest tmpod */
  vsn?: number;
  cfg?: SensorCfg;
}

export interface TmpoBlock {
  h: TmpoHeader;
  /** 0, then each sample's time minus the previous one */
  t: number[];
  /** 0, then each sample's value minus the previous one (rounded, see delta.ts) */
  v: number[];
}

/** Samples in time order, as two parallel arrays (cheaper than an array of pairs). */
export interface Series {
  times: number[];
  values: number[];
}

export const TMPO_FORMAT_VERSION = 1;

/** Thrown for bytes or text that are not a valid TMPO block. */
export class TmpoFormatError extends Error {
  override readonly name = 'TmpoFormatError';
}
