/** The P1 (DSMR smart meter) core: framing, CRC checks, parsing, Smarty decryption, FLM readings. */
export { crc16Arc, crc16X25, formatCrc, type CrcInput } from './crc16';
export {
  P1Framer,
  extractTelegrams,
  DEFAULT_MAX_TELEGRAM_BYTES,
  type P1FramerOptions,
  type P1FramerStats,
} from './framer';
export {
  checkTelegram,
  type CheckOptions,
  type CheckResult,
  type CheckStatus,
  type CrcMode,
  type CrcVariant,
} from './check';
export { parseTelegram, parseHeader, type ParseOptions } from './parse';
export { decodeTelegram, type DecodeResult } from './decode';
export {
  parseP1Timestamp,
  meterZone,
  DEFAULT_METER_ZONE,
  DEFAULT_METER_ZONE_NAME,
  type P1Time,
  type MeterZone,
} from './time';
export type * from './types';
export {
  decryptSmartyFrame,
  parseSmartyFrame,
  SMARTY_DEFAULT_AUTH_KEY,
  type SmartyFrame,
  type SmartyKeys,
} from './smarty';
export { SmartyFramer, type SmartyFramerStats } from './smarty-framer';
export {
  toFlmReadings,
  meterIdOf,
  type FlmP1Reading,
  type FlmP1ReadingType,
  type FlmReadingOptions,
} from './flm-readings';
export { MeterRateGauges } from './meter-rate';
