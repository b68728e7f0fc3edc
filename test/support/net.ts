import { createConnection } from 'node:net';

export async function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Wait until something listens on the port (a broker starting after a deploy), at most `timeoutMs`. */
export async function untilListening(
  port: number,
  describe: () => string = () => '',
  host = '127.0.0.1',
  timeoutMs = 30_000,
): Promise<void> {
  const t0 = Date.now();
  while (!(await portOpen(port, host))) {
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`nothing listened on ${host}:${port} within ${timeoutMs} ms\n${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
