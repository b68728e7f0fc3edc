import WebSocket from 'ws';

/**
 * Open a websocket to `url` with these options; resolves with the HTTP status of a refusal, or
 * 101 when it opened (and is closed again at once).
 */
export function wsStatus(url: string, protocol: string | undefined, options: WebSocket.ClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = protocol ? new WebSocket(url, protocol, options) : new WebSocket(url, options);
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}
