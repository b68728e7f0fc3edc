/** The part of an aedes persistence that keeps a persistent session's subscriptions. */
interface SubscriptionStore {
  addSubscriptions(client: { id: string }, subs: Array<{ topic: string }>): Promise<unknown>;
}

/**
 * aedes stores a SUBSCRIBE's filters once per filter it grants, each time handing over all the
 * packet's filters, refused ones included. On Redis (aedes-persistence-redis) each store waits for
 * its own announcement to come back, all of them under one name, so with two filters or more all
 * but one wait for ever and the SUBACK never comes (a `mosquitto_sub -c` with two `-t`); and a
 * refused filter is kept in the session, whose queue then fills with what it matches.
 *
 * Wrapped here, a packet's filters are stored once (the same array comes back for each filter),
 * only those `mayKeep` grants, and one store after the other when a filter is granted later.
 */
export function storeSubscriptionsOnce(
  persistence: unknown,
  mayKeep: (client: { id: string }, topic: string) => boolean,
): void {
  const p = persistence as SubscriptionStore;
  const add = p.addSubscriptions.bind(p);
  const packets = new WeakMap<object, { stored: Set<string>; last: Promise<unknown> }>();
  p.addSubscriptions = (client, subs) => {
    let packet = packets.get(subs);
    if (!packet) packets.set(subs, (packet = { stored: new Set(), last: Promise.resolve() }));
    const fresh = subs.filter((s) => !packet.stored.has(s.topic) && mayKeep(client, s.topic));
    if (fresh.length === 0) return packet.last;
    for (const s of fresh) packet.stored.add(s.topic);
    packet.last = packet.last.then(() => add(client, fresh));
    return packet.last;
  };
}
