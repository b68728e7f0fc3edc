import { z } from 'zod';
import { SUBTYPES } from '../config/schema';

/**
 * What an acquisition source (sensor board, simulator, GPIO pulse node) hands to the reading
 * computation: one batch per poll, like one FLM02 delta line
 * (docs/architecture.md#from-a-serial-byte-to-a-reading), carrying the poll time and a record per
 * port (or per sensor id) that changed.
 *
 * Sources that count for themselves (the FLM03 board keeps its own counters and measures its
 * own gauges) send `counter` and `gauge` records; sources that see events send `pulse`
 * records, and a plain clamp sends `analog` power, which the computation integrates.
 */
const target = {
  port: z.number().int().min(1).optional(),
  sid: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
};

const pulseRecord = z
  .object({
    kind: z.literal('pulse'),
    ...target,
    /** pulses counted since the previous batch */
    pulses: z.number().int().min(0).max(1_000_000),
    /** Unix ms of the last of those pulses; defaults to the batch time */
    time: z.number().finite().optional(),
  })
  .strict();

const analogRecord = z
  .object({
    kind: z.literal('analog'),
    ...target,
    /** average power over the last poll interval, W */
    power: z.number().finite().min(0).max(1e7),
  })
  .strict();

const counterRecord = z
  .object({
    kind: z.literal('counter'),
    ...target,
    /** FLM03 clamp parameter the value belongs to; absent: the port's own meter (pplus on a clamp) */
    subtype: z.enum(SUBTYPES).optional(),
    /**
     * The source's own running total, in the sensor's counter unit (Wh, varh, L, …). Only its
     * increase counts: a source that restarts from 0 loses nothing already counted.
     */
    value: z.number().finite().min(0).max(1e15),
    /** Unix ms the total holds at (for a pulse meter: its last pulse); defaults to the batch time */
    time: z.number().finite().optional(),
  })
  .strict();

const gaugeRecord = z
  .object({
    kind: z.literal('gauge'),
    ...target,
    subtype: z.enum(SUBTYPES).optional(),
    /** measured by the source, in the sensor's gauge unit (W, var, V, A, …); published as it is */
    value: z.number().finite().min(-1e9).max(1e9),
  })
  .strict();

const portRecordSchema = z
  .discriminatedUnion('kind', [pulseRecord, analogRecord, counterRecord, gaugeRecord])
  .refine((r) => (r.port === undefined) !== (r.sid === undefined), 'a record names exactly one of port or sid');

export const boardBatchSchema = z
  .object({
    /** Unix ms of the poll */
    time: z.number().finite(),
    records: z.array(portRecordSchema).max(1024),
  })
  .strict();

export type PortRecord = z.infer<typeof portRecordSchema>;
export type BoardBatch = z.infer<typeof boardBatchSchema>;
export const BOARD_BATCH_TOPIC = 'board/batch';
