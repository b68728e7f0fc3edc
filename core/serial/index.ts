/** Byte transports that stay up: reconnect with backoff, a no-data watchdog, rate-limited reports, serial ports. */
export { Backoff, backoffDelay, type BackoffOptions } from './backoff';
export { RateLimiter } from './rate-limit';
export { Watchdog } from './watchdog';
export {
  ReconnectingSource,
  type Connection, type ConnectionHandlers, type Connector, type ConnectContext, type AttemptOutcome,
  type SourceState, type ReconnectingSourceOptions,
} from './reconnecting';
export {
  serialPortConnector, listSerialPorts, loadSerialPort, describeSerial, withCode,
  type SerialSettings, type SerialPortOptions,
} from './serial-port';
