import { z } from 'zod';

/**
 * What an acquisition source (sensor board, simulator, GPIO pulse node) hands to the reading
 * computation: one batch per poll, like one FLM02 delta line (flm-firmware.md §1.4, §2.1),
 * carrying the poll time and a record per port (or per sensor id) that changed.
 */
const pulseRecord = z
  .object({
    kind: z.literal('pulse'),
    port: z.number().int().min(1).optional(),
    sid: z.string().regex(/^[0-9a-f]{32}$/).optional(),
    /** pulses counted since the previous batch */
    pulses: z.number().int().min(0).max(1_000_000),
    /** Unix ms of the last of those pulses; defaults to the batch time */
    time: z.number().finite().optional(),
  })
  .strict();

const analogRecord = z
  .object({
    kind: z.literal('analog'),
    port: z.number().int().min(1).optional(),
    sid: z.string().regex(/^[0-9a-f]{32}$/).optional(),
    /** average power over the last poll interval, W */
    power: z.number().finite().min(0).max(1e7),
  })
  .strict();

export const portRecordSchema = z
  .discriminatedUnion('kind', [pulseRecord, analogRecord])
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
