/**
 * The HAProxy configuration for N instances of `npm start` sharing one Redis (README "Several
 * instances"). deploy/haproxy.cfg is its output for three instances on one machine; the cluster
 * test and bench generate theirs with free ports.
 *
 *   node dist/scripts/haproxy-config.js [instances] > haproxy.cfg
 */

export interface HaproxyInstance {
  name: string;
  host: string;
  /** the instance's FLM_MQTT_PORT (FLM_MODE=server: its FLM_BRIDGE_PORT, the TLS passing through) */
  mqtt: number;
  /** the instance's FLM_API_PORT, where GET /health answers */
  api: number;
}

export interface HaproxyOptions {
  bind: string;
  /** what MQTT clients and HTTP clients connect to */
  mqttPort: number;
  apiPort: number;
  instances: HaproxyInstance[];
  /** how often each instance's /health is asked, ms */
  checkEveryMs?: number;
  /** connections the balancer takes at once (HAProxy needs about twice as many file descriptors) */
  maxConnections?: number;
}

export function haproxyConfig(o: HaproxyOptions): string {
  const inter = o.checkEveryMs ?? 2000;
  const mqttServers = o.instances.map((i) => `  server ${i.name} ${i.host}:${i.mqtt} check port ${i.api}`);
  const apiServers = o.instances.map((i) => `  server ${i.name} ${i.host}:${i.api} check`);
  return `# HAProxy in front of ${o.instances.length} flm instances on one Redis (README "Several instances").
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

frontend mqtt
  mode tcp
  bind ${o.bind}:${o.mqttPort}
  default_backend flm_mqtt

backend flm_mqtt
  mode tcp
  # long-lived connections: spread them by count, not by turn
  balance leastconn
  option httpchk GET /health
  http-check expect status 200
${mqttServers.join('\n')}

frontend api
  mode http
  bind ${o.bind}:${o.apiPort}
  timeout client 30s
  default_backend flm_api

backend flm_api
  mode http
  balance roundrobin
  timeout server 30s
  # a request whose instance refuses the connection (killed, not yet marked down) goes to another
  retries 2
  option redispatch 1
  option httpchk GET /health
  http-check expect status 200
${apiServers.join('\n')}
`;
}

/** Three instances on this machine: MQTT 11883, 11884, … and API 18080, 18081, … behind 1883 and 8080. */
export function exampleInstances(n: number): HaproxyInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `flm${i + 1}`,
    host: '127.0.0.1',
    mqtt: 11883 + i,
    api: 18080 + i,
  }));
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? 3);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    console.error('usage: haproxy-config [instances 1-64]');
    process.exit(2);
  }
  process.stdout.write(
    haproxyConfig({ bind: '0.0.0.0', mqttPort: 1883, apiPort: 8080, instances: exampleInstances(n) }),
  );
}
