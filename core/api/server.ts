import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createApiHandler, type ApiHandler, type ApiOptions } from './router';

export interface ApiServerOptions extends ApiOptions {
  /** address to listen on; the FLM served 0.0.0.0, we default to this machine only */
  host?: string;
  /** 8080 as on the FLM; 0 picks a free port */
  port?: number;
  /** an error of the listening server itself (out of file descriptors, say), which keeps running */
  onServerError?: (err: Error) => void;
}

export interface ApiServer {
  /** the same handler, for mounting elsewhere too */
  readonly handler: ApiHandler;
  /** start listening; resolves with the bound address */
  listen(): Promise<{ host: string; port: number }>;
  /** the bound port once listening */
  readonly port: number | undefined;
  /**
   * Stop listening and free the port. Idle keep-alive connections go at once; requests still
   * running get until `timeoutMs`, then every socket is destroyed, so this always resolves.
   */
  close(timeoutMs?: number): Promise<void>;
}

export const DEFAULT_API_HOST = '127.0.0.1';
export const DEFAULT_API_PORT = 8080;

/** The APIs of router.ts on their own node:http server (the FLM's uhttpd on :8080). */
export function createApiServer(options: ApiServerOptions = {}): ApiServer {
  const host = options.host ?? DEFAULT_API_HOST;
  const port = options.port ?? DEFAULT_API_PORT;
  const handler = createApiHandler(options);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let closing: Promise<void> | undefined;
  let boundPort: number | undefined;

  const make = (): Server => {
    const s = createServer((req, res) => handler(req, res));
    // A request's head must arrive in time; a slow or silent client does not hold a socket forever.
    s.headersTimeout = 10_000;
    s.requestTimeout = 30_000;
    s.keepAliveTimeout = 5_000;
    s.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    s.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    return s;
  };

  return {
    handler,
    get port() {
      return boundPort;
    },
    listen() {
      if (server) return Promise.reject(new Error('the API server is already listening'));
      if (closing) return Promise.reject(new Error('the API server is closed'));
      const s = (server = make());
      return new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          server = undefined;
          if (err.code === 'EADDRINUSE') reject(new Error(`API port ${port} on ${host} is already in use`));
          else if (err.code === 'EACCES') reject(new Error(`no permission to listen on API port ${port} on ${host}`));
          else reject(new Error(`cannot listen for the API on ${host}:${port}: ${err.message}`));
        };
        s.once('error', onError);
        s.listen(port, host, () => {
          s.off('error', onError);
          // An 'error' with no listener would end the whole process.
          s.on('error', (err) => options.onServerError?.(err));
          boundPort = (s.address() as AddressInfo).port;
          resolve({ host, port: boundPort });
        });
      });
    },
    close(timeoutMs = 3000) {
      closing ??= (async () => {
        const s = server;
        if (!s) return;
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        s.closeIdleConnections();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
        await Promise.race([closed, timeout]);
        clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
        server = undefined;
        boundPort = undefined;
      })();
      return closing;
    },
  };
}
