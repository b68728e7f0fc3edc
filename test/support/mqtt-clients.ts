import mqtt from 'mqtt';

export interface Got {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A client subscribed to `topics` that keeps every message it gets. */
export async function subscriber(
  url: string,
  topics: string | string[],
  opts: mqtt.IClientOptions = {},
): Promise<{ client: mqtt.MqttClient; got: Got[] }> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...opts });
  const got: Got[] = [];
  client.on('message', (topic, p, packet) => got.push({ topic, payload: p.toString(), retain: packet.retain }));
  await client.subscribeAsync(topics);
  return { client, got };
}

/**
 * An anonymous client publishes once and waits for the broker to answer: a refused publish
 * closes its connection. Resolves with whether the connection was closed.
 */
export async function publishAnonymously(
  url: string,
  topic: string,
  payload: string,
  opts: mqtt.IClientPublishOptions = {},
): Promise<boolean> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const closed = new Promise<boolean>((r) => c.once('close', () => r(true)));
  // QoS 1 waits for the broker's PUBACK when it takes the message, so either way we know.
  const acked = c.publishAsync(topic, payload, { qos: 1, ...opts }).then(
    () => false,
    () => true,
  );
  const result = await Promise.race([closed, acked]);
  await c.endAsync(true);
  return result;
}
