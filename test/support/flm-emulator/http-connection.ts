import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * One persistent HTTP/1.1 connection written to byte for byte: the emulator sends the exact
 * request bytes it built (no HTTP library adds or reorders headers) and reads the answer itself.
 * A request after the server closed the connection opens a new one, as the FLM's persistent client
 * does on its next call.
 */

export interface FlmResponse {
  status: number;
  /** header names lowercased */
  headers: Record<string, string>;
  body: Buffer;
}

export interface Endpoint {
  host: string;
  port: number;
  /** PEM CA to verify the server against (the FLM's flukso.ca.crt); unset: plain HTTP */
  ca?: string;
  /** the heartbeat does not verify the peer (it checks the reply digest instead) */
  verify?: boolean;
}

/** The firmware's send/receive timeouts are 5 s. */
const TIMEOUT_MS = 5000;
const MAX_RESPONSE = 1024 * 1024;

export class FlmHttpConnection {
  private socket: Socket | undefined;
  private buffered = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;

  constructor(private readonly endpoint: Endpoint) {}

  /** Send one request and read its answer; rejects on a refused, reset or silent connection. */
  async request(bytes: Buffer): Promise<FlmResponse> {
    if (!this.socket || this.ended || this.socket.destroyed) await this.open();
    const socket = this.socket!;
    socket.write(bytes);
    const timer = setTimeout(() => this.fail(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    try {
      const res = await this.readResponse();
      if ((res.headers.connection ?? '').toLowerCase() === 'close') this.close();
      return res;
    } catch (err) {
      this.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): Promise<void> {
    this.close();
    this.buffered = Buffer.alloc(0);
    this.ended = false;
    this.failure = undefined;
    const { host, port, ca } = this.endpoint;
    return new Promise((resolve, reject) => {
      const s =
        ca === undefined
          ? netConnect({ host, port }, () => done())
          : tlsConnect(
              {
                host,
                port,
                ca,
                rejectUnauthorized: this.endpoint.verify !== false,
                ...(isIP(host) ? {} : { servername: host }),
              },
              () => done(),
            );
      const timer = setTimeout(() => s.destroy(new Error(`connect timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      const done = (err?: Error) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      s.once('error', (err) => done(err));
      // events of a connection already replaced by a newer one are not ours any more
      s.on('error', (err) => this.socket === s && this.fail(err));
      s.on('data', (d: Buffer) => {
        if (this.socket !== s) return;
        this.buffered = Buffer.concat([this.buffered, d]);
        if (this.buffered.length > MAX_RESPONSE) this.fail(new Error('response too large'));
        this.wake();
      });
      s.on('close', () => {
        if (this.socket !== s) return;
        this.ended = true;
        this.wake();
      });
      this.socket = s;
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.ended = true;
    this.socket?.destroy();
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Wait until `has()` holds; rejects when the connection ends first. */
  private async until(has: () => boolean): Promise<void> {
    while (!has()) {
      if (this.failure) throw this.failure;
      if (this.ended) throw new Error('connection closed before a full answer');
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  private take(n: number): Buffer {
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  private async readResponse(): Promise<FlmResponse> {
    await this.until(() => this.buffered.indexOf('\r\n\r\n') >= 0);
    const headEnd = this.buffered.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = this.take(headEnd + 4)
      .subarray(0, headEnd)
      .toString('latin1')
      .split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
    if (!m) throw new Error(`not an HTTP status line: ${statusLine}`);
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let body: Buffer;
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) body = Buffer.alloc(0);
    else if ((headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) body = await this.chunked();
    else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      await this.until(() => this.buffered.length >= n);
      body = Buffer.from(this.take(n));
    } else {
      // no length: the body runs to the end of the connection
      await this.until(() => this.ended).catch(() => undefined);
      body = Buffer.from(this.take(this.buffered.length));
    }
    return { status, headers, body };
  }

  private async chunked(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (;;) {
      await this.until(() => this.buffered.indexOf('\r\n') >= 0);
      const line = this.take(this.buffered.indexOf('\r\n') + 2).toString('latin1');
      const size = parseInt(line, 16);
      if (!Number.isFinite(size)) throw new Error(`bad chunk size line: ${line}`);
      if (size === 0) {
        await this.until(() => this.buffered.indexOf('\r\n') >= 0);
        this.take(this.buffered.indexOf('\r\n') + 2);
        return Buffer.concat(parts);
      }
      await this.until(() => this.buffered.length >= size + 2);
      parts.push(Buffer.from(this.take(size)));
      this.take(2);
    }
  }
}
