import type { Aedes, Client } from 'aedes';

type Deliver = (packet: unknown, cb: () => void) => void;
interface Delivering {
  deliverQoS: Deliver;
  deliver0: Deliver;
}

/**
 * A persistent session (clean session off) that comes back gets its CONNACK first, then what was
 * queued for it while away, then what is published meanwhile.
 *
 * aedes 1.x subscribes a returning session again before it writes the CONNACK, and sends the
 * queue after it: a message published in between was written before the CONNACK (mqtt.js then
 * waits for a CONNACK it never handles, and gives up with "connack timeout") or ahead of older
 * queued messages. On Redis that window lasts several round trips
 * (docs/cluster.md#a-returning-persistent-session). Here live messages for such a client wait
 * until aedes reports it ready (queue sent), and go out then, in the order they came. Whatever of
 * them was also queued arrives twice (QoS 1 is at least once).
 */
export function resumeInOrder(aedes: Aedes): void {
  const waiting = new WeakMap<Client, Array<() => void>>();
  const preConnect = aedes.preConnect.bind(aedes);
  aedes.preConnect = (client, packet, done) => {
    if (!packet.clean) hold(client as unknown as Client & Delivering, waiting);
    preConnect(client, packet, done);
  };
  aedes.on('clientReady', (client: Client) => {
    const held = waiting.get(client);
    if (!held) return;
    waiting.delete(client);
    for (const send of held) send();
  });
}

function hold(client: Client & Delivering, waiting: WeakMap<Client, Array<() => void>>): void {
  waiting.set(client, []);
  for (const name of ['deliverQoS', 'deliver0'] as const) {
    const deliver = client[name];
    client[name] = (packet, cb) => {
      const held = waiting.get(client);
      if (!held) return deliver(packet, cb);
      // The emitter goes on at once: its callback paces one client's writes, and a queue that
      // takes a while to send must not stall the other clients' messages meanwhile.
      held.push(() => deliver(packet, () => {}));
      cb();
    };
  }
}
