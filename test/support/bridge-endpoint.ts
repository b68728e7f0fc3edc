import { BridgeEndpoint, type BridgeEndpointOptions } from '../../core/server/bridge/endpoint';
import { testPki, type TestPki } from './tls';

export interface TestBridgeEndpoint {
  endpoint: BridgeEndpoint;
  /** the test CA a device trusts, and the server certificate the endpoint presents */
  pki: TestPki;
  /** `mqtts://127.0.0.1:<port>` */
  url: string;
}

/**
 * The server's MQTT bridge endpoint on 127.0.0.1, port 0, over TLS with the test CA's server
 * certificate; `options` go to BridgeEndpoint.start as they are (limits, a shared aedes).
 */
export async function startTestBridgeEndpoint(
  backend: BridgeEndpointOptions['backend'],
  options: Partial<Omit<BridgeEndpointOptions, 'backend' | 'tls'>> = {},
): Promise<TestBridgeEndpoint> {
  const pki = await testPki();
  const endpoint = await BridgeEndpoint.start({
    host: '127.0.0.1',
    port: 0,
    backend,
    tls: { cert: pki.serverCert, key: pki.serverKey },
    ...options,
  });
  return { endpoint, pki, url: `mqtts://127.0.0.1:${endpoint.port}` };
}

/** How an FLM's mosquitto bridge logs in: MQTT 3.1 with the device id and key, trusting the test CA; no reconnects. */
export function flmBridgeLogin(pki: TestPki, deviceId: string, deviceKey: string) {
  return {
    ca: pki.caPem,
    protocolId: 'MQIsdp' as const,
    protocolVersion: 3 as const,
    username: deviceId,
    password: deviceKey,
    reconnectPeriod: 0,
  };
}
