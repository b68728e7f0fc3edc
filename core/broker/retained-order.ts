import type { Aedes, AedesPublishPacket, Client, Subscription } from 'aedes';
import { topicMatches } from './topic-filter';

/**
 * A new subscriber must never get an older retained value after a newer one. aedes starts
 * live delivery when a subscription is added, then streams the retained messages it read from
 * its store; a live publish on the same topic can reach the client in between, and the
 * retained copy read before it then arrives after it, older. Here a retained replay (aedes
 * sends those with no broker id) is dropped for a topic this client already got live since it
 * subscribed: what it holds is as new or newer.
 */
export function keepRetainedInOrder(aedes: Aedes): void {
  const liveSince = new WeakMap<Client, Set<string>>();
  const inner = aedes.authorizeForward;
  aedes.authorizeForward = function (client: Client, packet: AedesPublishPacket) {
    const replay = !packet.brokerId && packet.retain;
    const seen = liveSince.get(client);
    if (replay) {
      if (seen?.has(packet.topic)) return null;
    } else if (seen) seen.add(packet.topic);
    else liveSince.set(client, new Set([packet.topic]));
    return inner.call(this, client, packet);
  };
  // A new SUBSCRIBE asks for the retained messages again: forget what its filters cover.
  aedes.on('subscribe', (subs: Subscription[], client: Client) => {
    const seen = client && liveSince.get(client);
    if (!seen) return;
    for (const topic of seen) if (subs.some((s) => topicMatches(s.topic, topic))) seen.delete(topic);
  });
}
