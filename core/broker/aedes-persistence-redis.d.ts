// aedes-persistence-redis ships no types; this is the part core/broker/cluster.ts uses.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';
  interface RedisPersistenceOptions {
    /** an ioredis connection to use instead of one made from the other options */
    conn?: Redis;
    maxSessionDelivery?: number;
  }
  function aedesPersistenceRedis(opts?: RedisPersistenceOptions): { destroy(): Promise<void> };
  export = aedesPersistenceRedis;
}
