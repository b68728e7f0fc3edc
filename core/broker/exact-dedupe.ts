import type { Aedes, AedesPublishPacket, Client } from 'aedes';

/** Packets of one broker instance a client remembers having got, and instances per client. */
const REMEMBERED_PER_BROKER = 1024;
const REMEMBERED_BROKERS = 16;

/**
 * aedes's own rule, in place of which this stands: a client's last counter per broker, read as 0
 * and never updated, so that aedes lets every packet through to authorizeForward.
 */
const NO_COUNTERS: Record<string, number> = new Proxy(Object.create(null) as Record<string, number>, {
  get: () => 0,
  set: () => true,
  deleteProperty: () => true,
});

/**
 * A client gets every message published, each once.
 *
 * aedes numbers each publish per broker instance when it starts, and forwards to a client only a
 * packet numbered above the last it forwarded from that instance (meant for overlapping
 * subscriptions, which hand the same packet to one client twice in a row). But publishes finish in
 * another order than they start: a retained one waits for its store, a QoS 1 one here runs inside
 * authorizePublish (durable-ack.ts), and on Redis every publish makes its own round trips. A
 * subscriber then silently dropped the one that finished second with a lower number. A broker on
 * its own did too: a plain QoS 0 publish overtakes retained and QoS 1 ones, whose stores take
 * turns of the event loop (a burst of mixed publishes lost about one in six to a subscriber), so
 * every broker uses this, clustered or not.
 *
 * Here aedes's rule is switched off (its per-client counters read 0 and are never kept, at
 * preConnect, before any delivery) and a packet is dropped only when this very packet (broker id
 * and number) was already forwarded to the client: the last REMEMBERED_PER_BROKER of each of the
 * last REMEMBERED_BROKERS instances are remembered, so memory stays bounded per client.
 *
 * Call after preConnect and authorizeForward are set: it wraps the ones in place.
 */
export function dedupeExactly(aedes: Aedes): void {
  const forwarded = new WeakMap<Client, Map<string, Set<number>>>();
  const preConnect = aedes.preConnect.bind(aedes);
  aedes.preConnect = (client, packet, done) => {
    (client as unknown as { duplicates: Record<string, number> }).duplicates = NO_COUNTERS;
    preConnect(client, packet, done);
  };
  const inner = aedes.authorizeForward;
  aedes.authorizeForward = function (client: Client, packet: AedesPublishPacket) {
    const id = packet.brokerId;
    // Retained replays and queued messages carry no broker id: aedes never deduplicated them.
    if (!id) return inner.call(this, client, packet);
    let brokers = forwarded.get(client);
    if (!brokers) forwarded.set(client, (brokers = new Map()));
    const seen = brokers.get(id);
    if (seen?.has(packet.brokerCounter)) return null;
    const out = inner.call(this, client, packet);
    if (out) remember(brokers, id, packet.brokerCounter);
    return out;
  };
}

function remember(brokers: Map<string, Set<number>>, id: string, counter: number): void {
  let seen = brokers.get(id);
  if (seen)
    brokers.delete(id); // re-inserted below: the Map's order is the order of last use
  else seen = new Set();
  brokers.set(id, seen);
  seen.add(counter);
  if (seen.size > REMEMBERED_PER_BROKER) seen.delete(seen.values().next().value!);
  if (brokers.size > REMEMBERED_BROKERS) brokers.delete(brokers.keys().next().value!);
}
