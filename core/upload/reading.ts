import { CLOCK_VALID_AFTER } from '../config/clock-valid';

/** One counter reading as the server takes it: `[unix seconds, counter]`. */
export type Reading = readonly [ts: number, counter: number];

export type ReadingProblem = 'invalid-time' | 'fractional' | 'invalid-counter';

/**
 * Why a reading cannot go over HTTP, or undefined when it can. Only whole counters are uploaded
 * (docs/protocols/upload.md#measurements): the server keeps integers, and a P1 counter can come out
 * of the kWh×1000 conversion as a float. Safe integers only, so JSON prints them exactly.
 */
export function uploadProblem(ts: number, counter: number): ReadingProblem | undefined {
  if (!Number.isSafeInteger(ts) || ts <= CLOCK_VALID_AFTER) return 'invalid-time';
  if (!Number.isFinite(counter)) return 'invalid-counter';
  if (!Number.isInteger(counter)) return 'fractional';
  if (!Number.isSafeInteger(counter)) return 'invalid-counter';
  return undefined;
}

/** Sensor ids become folder names: keep them to what the FLM uses and nothing a path could abuse. */
export function isUploadSid(sid: string): boolean {
  return /^[0-9A-Za-z_-]{1,64}$/.test(sid);
}
