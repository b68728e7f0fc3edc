import type { Node, NodeMessage } from 'node-red';
import type { BridgeEvent, HeartbeatResult, UploadEvent } from '../../core/upload';
import { tmpoSyncReplyTopic, TMPO_SYNC_COMMAND } from '../../core/mqtt/topics';

/** The uploader's news as log lines: successes at debug, retries at info, a refused key as a warning. */
export function logUploadEvent(node: Node, e: UploadEvent): void {
  switch (e.kind) {
    case 'posted':
      node.debug(`POST ${e.url}: ${e.status} (${e.readings} readings${e.dropped ? `, ${e.dropped} filtered` : ''})`);
      break;
    case 'failed':
      node.log(
        `POST ${e.url}: ${e.status ?? e.error}${e.excerpt ? ` ${e.excerpt}` : ''}; retry ${e.attempt} in ${Math.round(e.retryInMs / 1000)} s`,
      );
      break;
    case 'auth-failed':
      node.warn(
        `POST ${e.url}: ${e.status} authentication failed${e.excerpt ? ` (${e.excerpt})` : ''}; readings of ${e.sid} kept until the device key is fixed`,
      );
      break;
    case 'queue-error':
      node.warn(`upload queue of ${e.sid}: ${e.error}; retry in ${Math.round(e.retryInMs / 1000)} s`);
      break;
  }
}

/** Logs a heartbeat; an offer is also in the status (the upload service shows it). */
export function logHeartbeat(node: Node, r: HeartbeatResult): void {
  if (r.kind === 'ok') {
    if (!r.offer) return;
    // Shown and logged, never acted on: nothing is downloaded, run or rebooted.
    node.warn(
      `heartbeat: the server ${r.offer.kind === 'upgrade' ? `offers firmware upgrade ${r.offer.version}` : 'asks for a reboot'}; ignored (nothing is downloaded or run)`,
    );
  } else if (r.kind === 'bad-digest') node.warn(`heartbeat ${r.url}: ${r.message}`);
  else if (r.kind === 'http-error') node.log(`heartbeat ${r.url}: HTTP ${r.status} ${r.excerpt}`);
  else if (r.kind === 'network-error') node.log(`heartbeat ${r.url}: ${r.error}`);
  else node.warn(`heartbeat ${r.url}: ${r.error}`);
}

/**
 * The bridge's news: the server's sync reply and the "ask for a sync" command leave on the
 * output (wired to flm-tmpo); connection changes are logged, a repeated failure once.
 */
export function bridgeEventHandler(
  node: Node,
  deviceId: string,
  send: (msg: NodeMessage) => void,
): (e: BridgeEvent) => void {
  let lastFailure = '';
  return (e) => {
    switch (e.kind) {
      case 'connected':
        lastFailure = '';
        node.log(
          `bridge connected to ${e.url} (MQTT ${e.mqttVersion})${e.resent ? `; ${e.resent} waiting messages sent` : ''}`,
        );
        break;
      case 'failed':
        if (e.error === lastFailure) break;
        lastFailure = e.error;
        if (e.failure === 'network')
          node.log(`bridge: ${e.error}; retrying (next in ${Math.round(e.retryInMs / 1000)} s)`);
        else
          node.warn(
            `bridge: ${e.error}; retrying, but this needs a change of settings (${e.failure === 'tls' ? 'CA or host' : e.failure === 'auth' ? 'device id or key' : 'MQTT version'})`,
          );
        break;
      case 'disconnected':
        lastFailure = '';
        node.log(`bridge: connection lost; retrying in ${Math.round(e.retryInMs / 1000)} s`);
        break;
      case 'sync-reply':
        send({ topic: tmpoSyncReplyTopic(deviceId), payload: e.payload.toString('utf8') });
        break;
      case 'sync-needed':
        send({ topic: TMPO_SYNC_COMMAND, payload: '' });
        break;
      case 'unexpected':
        node.debug(`bridge: message on ${e.topic} passed over`);
        break;
    }
  };
}
