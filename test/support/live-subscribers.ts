/**
 * MQTT subscribers that keep count of what they got, for the cluster tests (issue #18): each
 * remembers when its subscription was acknowledged, first and last, so a test can say which
 * messages it had to get, and reconnects on its own (through a balancer, to another instance).
 * A persistent session subscribes once and relies on its session afterwards; a clean one
 * subscribes again on every connection.
 */
import mqtt from 'mqtt';

export interface CountingSubscriber {
  id: string;
  persistent: boolean;
  client: mqtt.MqttClient;
  /** `<topic> <payload>` of every message, retained ones included; when each first arrived */
  got: Map<string, number>;
  /** Date.now() when the first and the last SUBACK came */
  firstSubscribedAt: number;
  subscribedAt: number;
  /** connections after the first */
  reconnects: number;
  /** Date.now() of each CONNACK */
  connectedAt: number[];
  /** CONNACKs of a persistent session that came without its session */
  sessionsLost: number;
}

export interface SubscriberOptions {
  url: string;
  clientId: string;
  persistent: boolean;
  filters: string[];
  username?: string;
  password?: string;
  ca?: string;
}

/** Connected and subscribed (resolves on the first SUBACK); refused subscriptions reject. */
export function countingSubscriber(o: SubscriberOptions): Promise<CountingSubscriber> {
  const client = mqtt.connect(o.url, {
    clientId: o.clientId,
    clean: !o.persistent,
    reconnectPeriod: 300,
    connectTimeout: 5000,
    // a clean session must subscribe again on each connection; a persistent one keeps its own
    resubscribe: false,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
  });
  const sub: CountingSubscriber = {
    id: o.clientId,
    persistent: o.persistent,
    client,
    got: new Map(),
    firstSubscribedAt: Infinity,
    subscribedAt: Infinity,
    reconnects: -1,
    connectedAt: [],
    sessionsLost: 0,
  };
  client.on('message', (topic, p) => {
    const k = `${topic} ${p.toString()}`;
    if (!sub.got.has(k)) sub.got.set(k, Date.now());
  });
  const qos = o.persistent ? 1 : 0;
  return new Promise((resolve, reject) => {
    // a login refused the first time is the test's mistake, not an outage to ride out
    const refused = (err: Error) => {
      client.end(true);
      reject(new Error(`${o.clientId}: ${err.message}`));
    };
    client.once('error', refused);
    client.on('connect', (ack) => {
      client.off('error', refused);
      sub.reconnects++;
      sub.connectedAt.push(Date.now());
      if (o.persistent && ack.sessionPresent) return resolve(sub);
      if (o.persistent && sub.reconnects > 0) sub.sessionsLost++;
      // all filters in one SUBSCRIBE, as mosquitto_sub sends its -t options
      client.subscribeAsync(Object.fromEntries(o.filters.map((f) => [f, { qos }]))).then(
        () => {
          sub.subscribedAt = Date.now();
          sub.firstSubscribedAt = Math.min(sub.firstSubscribedAt, sub.subscribedAt);
          resolve(sub);
        },
        (err: Error) => reject(new Error(`${o.clientId}: ${err.message}`)),
      );
    });
  });
}

/** Wait until `cond` holds, or give up after `ms` quietly (the assertion after it says what is missing). */
export async function settle(cond: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 100));
}
