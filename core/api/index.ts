/**
 * The HTTP APIs over TMPO data and live gauges: the FLM's local API
 * (docs/protocols/tmpo.md#local-api), the Flukso server's TMPO sync API that tmpo-py speaks
 * (docs/protocols/tmpo.md#http-sync-api) and a bucketed series API, behind one node:http / express
 * handler or a server of their own.
 */
export { createApiHandler } from './router';
export type { ApiHandler, ApiOptions } from './router';
export { createApiServer, DEFAULT_API_HOST, DEFAULT_API_PORT } from './server';
export type { ApiServer, ApiServerOptions } from './server';
export { RecentGauges } from './recent-gauges';
export type { GaugeSource, RecentGaugesOptions } from './recent-gauges';
export { LOCAL_WINDOW_SECONDS, MALFORMED_QUERY, localSensorReply, polishGauges } from './local-api';
export type { LocalPoint } from './local-api';
export { API_VERSION, Tokens, authorize, derivedApiToken, isToken } from './auth';
export type { TokenMap, TokenSource } from './auth';
export { STATUS_INCONSISTENT, tmpoBlockReply, tmpoSyncReply } from './tmpo-api';
export { MAX_BUCKETS, parseSeriesQuery, seriesJson, seriesReply, seriesValues } from './series-api';
export type { SeriesQuery, SeriesUnit, SeriesValues } from './series-api';
export { BlockVanishedError, overlapping, readBlockAt, syncSelection, timeline, withoutCovered } from './blocks';
export type { SyncFrom, TmpoReader } from './blocks';
export { Buckets } from './buckets';
export { TmpoDirReader } from './store-reader';
export { parseTime, isoSeconds } from './time';
export type { ApiReply, ApiRequest } from './reply';
