/**
 * A child process for the broker memory tests: an EmbeddedBroker with the limits given as JSON
 * in argv, driven over IPC. 'memory' answers with the RSS after a full garbage collection, so
 * the parent measures the broker alone, not its own buffers. Run with --expose-gc.
 */
import { EmbeddedBroker } from '../../../core/broker/embedded-broker';

async function main() {
  const limits = JSON.parse(process.argv[2] ?? '{}');
  const broker = await EmbeddedBroker.start({
    host: '127.0.0.1',
    port: 0,
    wsPort: null,
    access: { mode: 'open' },
    limits,
  });
  process.on('message', async (m: { cmd: string }) => {
    if (m.cmd === 'memory') {
      for (let i = 0; i < 3; i++) {
        global.gc!();
        await new Promise((r) => setImmediate(r));
      }
      // What the broker's store really holds, next to what the broker counted.
      const stored: string[] = [];
      const { persistence } = broker.aedes as unknown as {
        persistence: { createRetainedStream(p: string): AsyncIterable<{ topic: string }> };
      };
      for await (const packet of persistence.createRetainedStream('#')) stored.push(packet.topic);
      const mem = process.memoryUsage();
      process.send!({
        rss: mem.rss,
        live: mem.heapUsed + mem.external,
        retained: broker.retainedUse,
        stored,
        refusals: Object.fromEntries(broker.refusals),
      });
    } else if (m.cmd === 'stop') {
      await broker.close(2000);
      process.exit(0);
    }
  });
  process.send!({ port: broker.tcpPort });
}

main().catch((err) => {
  process.stderr.write(String(err) + '\n');
  process.exit(1);
});
