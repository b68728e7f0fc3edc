/** P1 acquisition without Node-RED: byte streams to telegrams, transports that reconnect, a watchdog. */
export { P1Stream, describeCheck, isEmptyTelegram, type P1StreamOptions, type P1StreamEvent, type P1TelegramEvent, type P1ErrorEvent, type P1ErrorKind, type P1StreamStats } from './stream';
export { Backoff, backoffDelay, type BackoffOptions } from '../../serial/backoff';
export { RateLimiter } from '../../serial/rate-limit';
export { Watchdog } from '../../serial/watchdog';
export { systemClock, ManualClock, type Clock } from '../../util/clock';
export {
  ReconnectingSource,
  type Connection, type ConnectionHandlers, type Connector, type ConnectContext, type AttemptOutcome,
  type SourceState, type ReconnectingSourceOptions,
} from '../../serial/reconnecting';
export { tcpConnector, parseHostPort, type HostPort, type TcpOptions } from './tcp';
export {
  serialConnector, listSerialPorts, loadSerialPort, SerialSettingsChooser, SERIAL_PRESETS, SERIAL_MODES, describeSerial,
  type SerialSettings, type SerialMode, type SerialPreset, type SerialOptions,
} from './serial';
