import autocannon from "autocannon";

/** One request shape; `setupRequest` may vary it per call (ids, bodies). */
export interface Scenario {
  id: string;
  title: string;
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  headers?: Record<string, string>;
  body?: string;
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
}

/** Drives `url` with autocannon for `seconds` at `connections` (after a short warm-up). */
export async function runLoad(
  url: string,
  scenario: Scenario,
  seconds: number,
  connections: number,
): Promise<LoadResult> {
  const options: autocannon.Options = {
    url: scenario.requests === undefined ? url + scenario.path : url,
    connections,
    duration: seconds,
    method: scenario.method ?? "GET",
    headers: scenario.headers,
    body: scenario.body,
    requests: scenario.requests,
  };
  await autocannon({ ...options, duration: 1 });
  const result = await autocannon(options);
  return {
    requestsPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}
