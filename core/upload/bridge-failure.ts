/** Why a bridge connection failed. auth, tls and protocol repeat until someone changes a setting. */
export type BridgeFailure = 'auth' | 'tls' | 'protocol' | 'network';

const CONNACK_REFUSALS: Record<number, [BridgeFailure, string]> = {
  1: ['protocol', 'the server refused the MQTT version (unacceptable protocol version)'],
  2: ['auth', 'the server refused the client id'],
  3: ['network', 'the server is unavailable'],
  4: ['auth', 'the server refused the device id and key (bad user name or password)'],
  5: ['auth', 'the server refused the device id and key (not authorized)'],
};

/** CONNACK refusals carry their code as a number; socket and TLS errors as a string. */
export function classify(err: Error): BridgeFailure {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number') return CONNACK_REFUSALS[code]?.[0] ?? 'auth';
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO|ALTNAME|TLS|SSL/.test(code)) return 'tls';
  if (/certificate|TLS not authorized|handshake/i.test(err.message)) return 'tls';
  return 'network';
}

/** The failure in words a person can act on. */
export function describe(err: Error): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number' && CONNACK_REFUSALS[code]) return CONNACK_REFUSALS[code][1];
  if (typeof code === 'string' && !err.message.includes(code)) return `${err.message} (${code})`;
  return err.message;
}
