import autocannon from "autocannon";

/** One request shape; `setupRequest` may vary it per call (ids, bodies). */
export interface Scenario {
  id: string;
  title: string;
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** How long one request may take before autocannon counts it as timed out (default 10 s). */
  timeoutSeconds?: number;
  /** Several request shapes picked in order by weight (for the mixed workload). */
  requests?: autocannon.Request[];
}

export interface LoadResult {
  requestsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
  /** CPU time of the server's process tree per request during the measured run (when given). */
  cpuMsPerRequest?: number;
}

/** Drives `url` with autocannon for `seconds` at `connections` (after a short warm-up). */
export async function runLoad(
  url: string,
  scenario: Scenario,
  seconds: number,
  connections: number,
  /** The server's process-tree CPU time so far (ms); sampled around the measured run. */
  cpuTimeMs?: () => number,
): Promise<LoadResult> {
  const options: autocannon.Options = {
    url: scenario.requests === undefined ? url + scenario.path : url,
    connections,
    duration: seconds,
    method: scenario.method ?? "GET",
    headers: scenario.headers,
    body: scenario.body,
    requests: scenario.requests,
    ...(scenario.timeoutSeconds === undefined ? {} : { timeout: scenario.timeoutSeconds }),
  };
  await autocannon({ ...options, duration: 1 });
  const cpuBefore = cpuTimeMs?.();
  const result = await autocannon(options);
  const cpuAfter = cpuTimeMs?.();
  return {
    ...(cpuBefore === undefined || cpuAfter === undefined
      ? {}
      : { cpuMsPerRequest: (cpuAfter - cpuBefore) / Math.max(1, result.requests.total) }),
    requestsPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}
