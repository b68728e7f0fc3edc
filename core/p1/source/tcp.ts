import { connect as netConnect, type Socket } from 'node:net';
import type { Connection, ConnectionHandlers, Connector } from '../../link/reconnecting';

/** A P1 dongle or ser2net port: `host:port`, `[v6 address]:port`. */
export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(text: string): HostPort {
  const t = text.trim();
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(t) ?? /^([^:\s]+):(\d+)$/.exec(t);
  if (!m) throw new Error(`"${t}" is not host:port (e.g. 192.168.1.20:2001; IPv6 as [fd00::20]:2001)`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`"${t}": port ${m[2]} is not 1–65535`);
  return { host: m[1]!, port };
}

export interface TcpOptions extends HostPort {
  /** give up on a connect that has not completed after this long (default 10 s) */
  connectTimeoutMs?: number;
}

/** Opens a TCP connection per attempt; reports the peer closing or failing as `closed`. */
export function tcpConnector(options: TcpOptions): Connector {
  const label = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
  return (handlers: ConnectionHandlers) =>
    new Promise<Connection>((resolve, reject) => {
      const socket: Socket = netConnect({ host: options.host, port: options.port });
      let open = false;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`${label}: no answer within ${Math.round((options.connectTimeoutMs ?? 10_000) / 1000)} s`));
      }, options.connectTimeoutMs ?? 10_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        open = true;
        socket.setKeepAlive(true, 10_000);
        socket.setNoDelay(true);
        resolve({ label, close: () => closeSocket(socket) });
      });
      socket.on('data', (chunk: Buffer) => handlers.data(chunk));
      let failure: Error | undefined;
      socket.on('error', (err) => {
        failure = err;
        if (!open) {
          clearTimeout(timer);
          reject(err);
        }
      });
      socket.on('close', () => {
        if (open) handlers.closed(failure);
      });
    });
}

function closeSocket(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.destroy();
  });
}
