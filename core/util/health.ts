/**
 * What `GET /health` answers (docs/cluster.md#health-and-haproxy): each part that takes data (the
 * broker, a store) registers a probe while it runs; the answer is 200 when every probe says it
 * can take data and 503 otherwise, or when nothing is registered (nothing to take data with).
 * One registry per process: a load balancer asks the process, not a node.
 */
export interface HealthProbe {
  name: string;
  /** can it take data now */
  ok(): boolean;
  /** a few words for the answer (where it listens, the store it uses) */
  detail?(): string;
}

const probes = new Set<HealthProbe>();

/** Register a probe; call the returned function when the part stops. */
export function registerHealth(probe: HealthProbe): () => void {
  probes.add(probe);
  return () => probes.delete(probe);
}

export interface HealthReport {
  ok: boolean;
  parts: Array<{ name: string; ok: boolean; detail?: string }>;
}

export function healthReport(): HealthReport {
  const parts = [...probes].map((p) => {
    let ok = false;
    try {
      ok = p.ok();
    } catch {
      // a probe that throws cannot vouch for its part
    }
    return { name: p.name, ok, ...(p.detail ? { detail: p.detail() } : {}) };
  });
  return { ok: parts.length > 0 && parts.every((p) => p.ok), parts };
}
