/**
 * What a user (not a device) logged in on the bridge port may do
 * (docs/protocols/server-bridge.md#user-logins): read the live readings of the sensors they may
 * read over the REST API, nothing else. They publish nothing and subscribe to nothing but
 * `/sensor/<sid>/counter` and `/sensor/<sid>/gauge`, with `+` for the sid or the kind; a
 * subscription with a `+` sid only ever forwards their own sensors' messages.
 */

const FILTER = /^\/sensor\/([0-9a-f]{32}|\+)\/(counter|gauge|\+)$/;
const LIVE_TOPIC = /^\/sensor\/([0-9a-f]{32})\/(?:counter|gauge)$/;

/** How long a user's list of sensors is trusted before it is asked for again (a share withdrawn, a token changed). */
export const USER_SENSORS_REFRESH_MS = 30_000;

/** A user's subscription filter: the sensor it names ('+' for any of theirs), or undefined when it is not theirs to ask. */
export function userFilterSid(filter: string): string | undefined {
  return FILTER.exec(filter)?.[1];
}

/** The sensor of a live topic a user may be sent, or undefined for any other topic. */
export function liveTopicSid(topic: string): string | undefined {
  return LIVE_TOPIC.exec(topic)?.[1];
}

/** A user logged in: who, with which token (asked again on refresh) and the sensors they may read. */
export interface BridgeUser {
  user: string;
  token: string;
  sids: Set<string>;
  sidsAt: number;
  refreshing?: Promise<void>;
}
