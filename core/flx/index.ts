/** The FLM sensor-board protocols: FLM03 frames and messages, FLM02 control codec, Kube packets. */
export { crc8Dallas } from './crc8';
export { crc16Modbus } from './crc16-modbus';
export { fletcher16 } from './fletcher';
export {
  q2011ToNumber, q2011Thousandths, q2011ToDecimal, numberToQ2011, fraction16Thousandths, counterToDecimal,
} from './fixed-point';
export {
  encodeFlm03Frame, Flm03Framer,
  FLM03_SYNC, FLM03_HEADER_BYTES, FLM03_CHECK_BYTES, FLM03_MAX_PAYLOAD,
  type Flm03Frame, type Flm03FramerOptions, type Flm03FramerStats,
} from './flm03-frame';
export {
  FLM03_TYPE, flm03TypeName, decodeFlm03Payload, encodeFlm03Payload, encodeFlm03Message, timeStepFrame, kubeCtrlFrame,
  CT_PARAMETERS, CT_COUNTERS, CT_GAUGES, FLM03_SAMPLES, FLM03_PORTS,
  FLM03_PHASE, FLM03_MATH, FLM03_TRIGGER, CLAMP_CURRENT_INDEX, LED_HEARTBEAT,
  type Flm03TypeName, type Flm03Message, type Flm03DecodeResult, type CtParameter, type CtCounter, type CtData,
  type PulseData, type VoltageSamples, type CurrentSamples, type SarSamples, type SdadcSamples,
  type Flm03PortConfig, type Flm03PortSettings, type TimeMessage, type KubeCtrl, type RawMessage, type UnknownMessage,
} from './flm03-messages';
export { Flm03Decoder, type Flm03DecoderOptions, type Flm03DecoderStats } from './flm03-decoder';
export {
  portConfigFromSensors, portConfigFrame, FLM03_CLAMP_PORTS, FLM03_PULSE_PORTS,
  type PortConfigOptions, type PortConfigResult, type Flm03PhaseName, type Flm03MathName, type Flm03TriggerName,
} from './flm03-port-config';
export {
  ctDataReadings, pulseDataReadings, pulseUnits, decideBoardTime, DEFAULT_VALID_AFTER,
  type Flm03Reading, type Flm03ReadingOptions, type PulseReadingOptions, type PulseUnits,
  type BoardTimeDecision, type FlxTimeReport,
} from './flm03-readings';
export {
  FLM02_COMMANDS, FLM02_DELTA_RECORD_CHARS,
  encodeFlm02Request, encodeFlm02Reply, decodeFlm02Request, decodeFlm02Reply, formatFlm02,
  parseFlm02Read, encodeFlm02Read, encodeFlm02Uart,
  type Flm02Command, type Flm02Message, type Flm02Decoded, type Flm02ErrorReason, type Flm02DeltaRecord, type Flm02Read,
} from './flm02';
export {
  Flm02DeltaDecoder, formatDeltaLine, FLM02_SENSORS,
  type Flm02DeltaOptions, type DeltaBatchResult,
} from './flm02-delta';
export {
  parseKubePacket, encodeKubePacket, parseKubeHeader, encodeKubeHeader, decodeKubeControl, decodeKubeData,
  roundHalfUp, flk01bErrors, FLK01B_ERROR_BITS, KUBE_HW_TYPE, KUBE_MAX_PAYLOAD,
  type KubeHeader, type KubePacket, type KubePacketKind, type KubeParsed, type KubeControl,
  type KubeModel, type KubeField, type KubeFieldName, type KubeDecoded,
} from './kube';
export { flm03ToJson } from './flm03-json';
export {
  BoardSession, ctRecords, pulseRecords,
  type BoardSessionOptions, type BoardEvent, type BoardOutput, type BoardSessionStats,
} from './board-session';
export {
  BoardEmulator,
  type ClampLoad, type PulseTrain, type EmulatorOptions, type EmulatorTruth, type PortTruth,
} from './emulator';
export { EmulatorPort, FLM03_BAUD, type EmulatorPortOptions, type EmulatorPortStats, type EmulatedBoard } from './emulator-port';
export {
  Flm03Link, createBoardLink, parseBoardProtocol, boardProtocolSchema, BOARD_PROTOCOLS, DEFAULT_BAUD, FLM02_BAUD,
  type BoardLink, type BoardLinkOptions, type BoardProtocol, type LinkEvent, type LinkOutput, type LinkStats,
} from './board-link';
export { Flm02Session, type Flm02SessionOptions, type Flm02SessionStats } from './flm02-session';
export { flm02SyncPlan, FLM02_PORTS, type Flm02Step, type Flm02SyncOptions, type Flm02SyncPlan } from './flm02-sync';
export { Flm02ReadFramer, type Flm02RawRead } from './flm02-reads';
export {
  Flm02Emulator, type Flm02EmulatorOptions, type Flm02EmulatorTruth, type Flm02PortTruth, type Flm02SensorTruth,
} from './flm02-emulator';
