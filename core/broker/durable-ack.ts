import type { Aedes, AedesPublishPacket, Client } from 'aedes';

type PublishCallback = (err?: Error | null) => void;
type BrokerPublish = (packet: AedesPublishPacket, client: Client | null, cb?: PublishCallback) => void;

/**
 * A client's QoS 1 message is acknowledged only once the shared store has it.
 *
 * aedes 1.x writes the PUBACK of a QoS 1 PUBLISH first and only then stores the retained copy,
 * queues it for offline sessions and hands it to the emitter (which, on Redis, returns when Redis
 * answered the PUBLISH). An instance killed in between has acknowledged a message no other
 * instance ever sees (docs/cluster.md#acknowledged-means-stored). Here the whole
 * publish runs inside authorizePublish, which aedes waits for before it writes the PUBACK; aedes's
 * own publish of the same packet afterwards is then skipped. A store that fails or does not answer
 * within `timeoutMs` fails the publish: aedes closes the connection without a PUBACK, and the
 * client sends the message again. QoS 2 needs nothing: aedes stores it and publishes before PUBREC.
 *
 * Call after authorizePublish is set: it wraps the one in place.
 */
export function ackWhenStored(aedes: Aedes, timeoutMs: number): void {
  const done = new WeakSet<AedesPublishPacket>();
  const authorize = aedes.authorizePublish.bind(aedes);
  const inner = aedes as unknown as { publish: BrokerPublish };
  const publish = inner.publish.bind(aedes);
  aedes.authorizePublish = (client, packet, cb) => {
    authorize(client, packet, (err) => {
      if (err || !client || packet.qos !== 1) return cb(err);
      publishInTime(publish, packet as AedesPublishPacket, client, timeoutMs, (failed) => {
        if (failed) return cb(failed);
        done.add(packet as AedesPublishPacket);
        cb(null);
      });
    });
  };
  inner.publish = (packet, client, cb) => {
    if (client && done.delete(packet)) return cb?.();
    publish(packet, client, cb);
  };
}

function publishInTime(
  publish: BrokerPublish,
  packet: AedesPublishPacket,
  client: Client,
  timeoutMs: number,
  cb: (err: Error | null) => void,
): void {
  let settled = false;
  const settle = (err?: Error | null) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    cb(err ?? null);
  };
  // aedes reports a failed offline enqueue as an 'error' event and never calls back.
  const timer = setTimeout(
    () => settle(new Error(`${packet.topic} not stored within ${timeoutMs / 1000} s: no PUBACK`)),
    timeoutMs,
  );
  publish(packet, client, settle);
}
