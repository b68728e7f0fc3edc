import type { BridgeStarter } from './run';

/**
 * The MQTT bridge endpoint of core/server/bridge/ behind the BridgeStarter hook of run.ts.
 * Until that module is merged this says so instead of listening: the HTTP half runs on its own.
 */
export const bridgeStarter: BridgeStarter | undefined = undefined;
