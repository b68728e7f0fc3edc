/**
 * What a BridgeBackend throws for data it will never take from this device (a sensor that is
 * not the device's, a block it finds broken): the endpoint counts it, drops the message and
 * keeps the connection. Any other error means "not now" (a database away): the endpoint closes
 * the connection so nothing after the lost message is stored before it, and the device's next
 * sync sends it again (docs/protocols/server-bridge.md#when-storing-fails).
 */
export class BridgeRefused extends Error {
  readonly code = 'EBRIDGEREFUSED';
}
