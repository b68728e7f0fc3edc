import { z } from 'zod';
import { parseFlags, UsageError, type CliIo } from '../core/cli/command';

/**
 * The HAProxy configuration for N instances of `npm start` sharing one Redis
 * (docs/cluster.md#health-and-haproxy). deploy/haproxy.cfg is its output for three instances on
 * one machine; the cluster test and bench generate theirs with free ports. With `--server` it is
 * for N `FLM_MODE=server` instances: FLMs reach their bridge ports through it, readers their API.
 *
 *   node dist/scripts/haproxy-config.js [--server [--api-tls]] [instances] > haproxy.cfg
 */

export interface HaproxyInstance {
  name: string;
  host: string;
  /** the instance's FLM_MQTT_PORT (server: its FLM_BRIDGE_PORT, the TLS passing through) */
  mqtt: number;
  /** the instance's FLM_API_PORT, where GET /health answers */
  api: number;
}

export interface HaproxyOptions {
  bind: string;
  /** what MQTT clients (server: FLMs, on their bridge port) and HTTP clients connect to */
  mqttPort: number;
  apiPort: number;
  instances: HaproxyInstance[];
  /** FLM_MODE=server instances: the MQTT side leads to their bridge endpoints */
  server?: boolean;
  /**
   * server: the instances' API is HTTPS (FLM_SERVER_TLS_CERT and _KEY set), so it passes through
   * in TCP mode too and /health is asked over TLS
   */
  apiTls?: boolean;
  /** how often each instance's /health is asked, ms */
  checkEveryMs?: number;
  /** connections the balancer takes at once (HAProxy needs about twice as many file descriptors) */
  maxConnections?: number;
}

export function haproxyConfig(o: HaproxyOptions): string {
  const inter = o.checkEveryMs ?? 2000;
  const apiTls = Boolean(o.server && o.apiTls);
  // An HTTPS API is asked for /health over TLS. The check only reads the status, so the
  // instance's certificate is not verified (it may be self-made, as the bridge's is).
  const tlsCheck = apiTls ? ' check-ssl verify none' : '';
  const mqttServers = o.instances.map((i) => `  server ${i.name} ${i.host}:${i.mqtt} check port ${i.api}${tlsCheck}`);
  const apiServers = o.instances.map((i) => `  server ${i.name} ${i.host}:${i.api} check${tlsCheck}`);
  const mq = o.server
    ? {
        what: `${o.instances.length} flm server instances on one database and Redis (README "Several server instances on one database")`,
        frontend: 'bridge',
        backend: 'flm_bridge',
        why: [
          '  # FLMs stay connected for hours: spread them by count, not by turn. Their TLS goes through',
          '  # untouched; every instance presents a certificate from the same CA (README).',
        ],
      }
    : {
        what: `${o.instances.length} flm instances on one Redis (README "Several instances")`,
        frontend: 'mqtt',
        backend: 'flm_mqtt',
        why: ['  # long-lived connections: spread them by count, not by turn'],
      };
  const apiMode = apiTls ? 'tcp' : 'http';
  return `# HAProxy in front of ${mq.what}.
global
  maxconn ${o.maxConnections ?? 4000}

defaults
  timeout connect 5s
  # MQTT connections stay open for hours; keepalive (60 s by default) must fit well inside.
  timeout client 10m
  timeout server 10m
  # A busy instance answers late, not never: a check waits 10 s and an instance is taken out
  # after three failures. Its open connections are left alone (no on-marked-down
  # shutdown-sessions): under a burst every instance lags, and cutting all their clients at once
  # turns a burst into a reconnect storm. A dead instance's connections close by themselves.
  timeout check 10s
  # GET /health on the instance's API port: 503 (Redis unreachable) or no answer takes it out
  default-server inter ${inter} fall 3 rise 2

frontend ${mq.frontend}
  mode tcp
  bind ${o.bind}:${o.mqttPort}
  default_backend ${mq.backend}

backend ${mq.backend}
  mode tcp
${mq.why.join('\n')}
  balance leastconn
  option httpchk GET /health
  http-check expect status 200
${mqttServers.join('\n')}

frontend api
  mode ${apiMode}
  bind ${o.bind}:${o.apiPort}
  timeout client 30s
  default_backend flm_api

backend flm_api
  mode ${apiMode}
${apiTls ? '  # HTTPS goes through to the instances (FLM_SERVER_TLS_CERT): the API is balanced by connection\n' : ''}  balance roundrobin
  timeout server 30s
  # a request whose instance refuses the connection (killed, not yet marked down) goes to another
  retries 2
  option redispatch 1
  option httpchk GET /health
  http-check expect status 200
${apiServers.join('\n')}
`;
}

/**
 * N instances on this machine behind the ports clients know. `npm start`: MQTT 11883, 11884, …
 * and API 18080, 18081, … behind 1883 and 8080. Server: bridge 18883, 18884, … and API 18080, …
 * behind 8883 (an FLM's bridge_port) and 8080.
 */
export function exampleInstances(n: number, server = false): HaproxyInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `flm${i + 1}`,
    host: '127.0.0.1',
    mqtt: (server ? 18883 : 11883) + i,
    api: 18080 + i,
  }));
}

/** What the balancer's clients connect to for those: 1883 (server: 8883) and 8080 on every address. */
export function exampleConfig(n: number, server = false, apiTls = false): string {
  const front = { bind: '0.0.0.0', mqttPort: server ? 8883 : 1883, apiPort: 8080 };
  return haproxyConfig({ ...front, server, apiTls, instances: exampleInstances(n, server) });
}

const USAGE = 'node dist/scripts/haproxy-config.js [--server [--api-tls]] [instances 1-64]';
const OPTIONS = {
  server: { type: 'boolean', help: 'for FLM_MODE=server instances: FLMs on 8883 to their bridge ports 18883, …' },
  'api-tls': { type: 'boolean', help: 'with --server: the instances serve HTTPS (FLM_SERVER_TLS_CERT)' },
  help: { type: 'boolean', help: 'this help' },
} as const;
const Flags = z.object({
  server: z.boolean().optional(),
  'api-tls': z.boolean().optional(),
  help: z.boolean().optional(),
});

/** The command line: the configuration on stdout, 0; a usage error on stderr, 2. */
export function haproxyConfigCli(args: string[], io: Pick<CliIo, 'stdout' | 'stderr'>): number {
  try {
    const { flags, positionals } = parseFlags(args, OPTIONS, Flags);
    if (flags.help) {
      const lines = Object.entries(OPTIONS).map(([name, o]) => `  --${name.padEnd(9)} ${o.help}`);
      io.stdout.write(`usage: ${USAGE}\n${lines.join('\n')}\n`);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError(`one number of instances, not ${positionals.join(' ')}`);
    const n = Number(positionals[0] ?? 3);
    if (!/^\d+$/.test(positionals[0] ?? '3') || n < 1 || n > 64)
      throw new UsageError(`instances must be a whole number from 1 to 64, not "${positionals[0]}"`);
    if (flags['api-tls'] && !flags.server) throw new UsageError('--api-tls goes with --server');
    io.stdout.write(exampleConfig(n, flags.server ?? false, flags['api-tls'] ?? false));
    return 0;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`haproxy-config: ${err.message} (usage: ${USAGE})\n`);
    return 2;
  }
}

if (require.main === module) process.exitCode = haproxyConfigCli(process.argv.slice(2), process);
