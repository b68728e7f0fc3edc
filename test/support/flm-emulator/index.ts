/**
 * An FLM emulator for tests and benchmarks: what FLM02/FLM03 firmware sends to the Flukso server,
 * built from the firmware's wire description (docs/protocols/upload.md, docs/protocols/tmpo.md),
 * not from core/upload. See emulator.ts for one device and fleet.ts for many.
 */
export { FlmEmulator, type FlmEmulatorOptions } from './emulator';
export { flmDigest } from './digest';
export { measurementsBody, requestBytes, heartbeatBody } from './http-request';
export { fluksodFilters, downsample } from './downsample';
export { configSensorDocument, sensorTable, VERSIONS } from './flavours';
export { bridgeClientId } from './bridge';
export { compactBlocks } from './tmpo-compact';
