import { currentTelemetry } from "./telemetry";
import { formatTraceparent } from "./trace";

/**
 * `fetch` for outbound calls (webhooks, OAuth providers, mail APIs): propagates W3C trace
 * context to the callee and records an `http.client` span. Outside a request it is plain fetch.
 */
export async function tracedFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  const telemetry = currentTelemetry();
  if (telemetry === undefined) return fetch(input, init);
  const url = new URL(String(input));
  const method = (init.method ?? "GET").toUpperCase();
  return telemetry.span(
    `HTTP ${method}`,
    "client",
    { "http.request.method": method, "server.address": url.hostname },
    async (spanId) => {
      const headers = new Headers(init.headers);
      headers.set("traceparent", formatTraceparent(telemetry.trace, spanId));
      if (telemetry.trace.tracestate) headers.set("tracestate", telemetry.trace.tracestate);
      return fetch(url, { ...init, headers });
    },
  );
}
