export { xDigest, digestMatches, isDeviceKey } from './digest';
export { UploadClient, measurementsBody, type UploadClientOptions, type PostOutcome, type RawReply } from './client';
export { downsample, downsampleIndices, FLM_FILTERS, type DownsampleFilter } from './filters';
export { UploadQueue, type UploadQueueOptions, type AppendResult, type AppendManyResult, type Batch } from './queue';
export {
  Uploader,
  DEFAULT_BACKOFF,
  DEFAULT_INTERVAL_MS,
  type UploaderOptions,
  type UploaderState,
  type SensorStatus,
  type UploadEvent,
  type MeasurementPoster,
} from './uploader';
export { sendHeartbeat, startHeartbeat, heartbeatBody, type HeartbeatResult, type UpgradeOffer } from './heartbeat';
export { backgroundClock, type Clock } from '../util/clock';
export { type Reading, uploadProblem } from './reading';
export {
  MqttBridge,
  MQTT_VERSIONS,
  type MqttVersion,
  type BridgeOptions,
  type BridgeEvent,
  type BridgeState,
  type BridgeFailure,
  type PublishResult,
} from './bridge';
export { bridgeRoute, type BridgeRoute } from './bridge-routes';
export { loadCa } from './bridge-ca';
export { httpStatus, bridgeStatus, joinStatus, type StatusLine, type HttpPart, type NotUploaded } from './status';
export {
  UploadService,
  uploadRoute,
  type UploadServiceOptions,
  type UploadServiceSettings,
  type UploadInput,
} from './service';
