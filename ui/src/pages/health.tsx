import { useEffect, useRef, useState } from "preact/hooks";
import { ApiProblem, api, request } from "../api";
import { BarChart, LineChart } from "../components/chart";
import { Table } from "../components/table";
import { Page, ProblemBox } from "../components/ui";

interface Window {
  requests: number;
  errors: number;
  clientErrors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}
interface Stats {
  scope: "process" | "isolate";
  windows: { "1m": Window; "5m": Window; "15m": Window };
  slowestRoutes: { route: string; count: number; meanMs: number; maxMs: number }[];
  otlpDroppedSpans: number;
}
interface Sample {
  at: number;
  stats: Stats;
}

const everyMs = 5000;
const keep = 60; // five minutes of samples

/** Cumulative counters from the Prometheus text: shared-cache lookups and the webhook backlog. */
export function readMetrics(text: string) {
  const cache: Record<string, number> = {};
  let backlog: number | undefined;
  for (const line of text.split("\n")) {
    const hit = /^nearbase_cache_requests_total\{result="(\w+)"\} ([\d.e+]+)/.exec(line);
    if (hit !== null) cache[hit[1]!] = (cache[hit[1]!] ?? 0) + Number(hit[2]);
    const b = /^nearbase_webhook_backlog(?:\{[^}]*\})? ([\d.e+]+)/.exec(line);
    if (b !== null) backlog = (backlog ?? 0) + Number(b[1]);
  }
  const lookups = Object.values(cache).reduce((a, b) => a + b, 0);
  return {
    cache,
    lookups,
    hitRatio: lookups === 0 ? null : ((cache.HIT ?? 0) + (cache.STALE ?? 0)) / lookups,
    backlog,
  };
}

/** Per-minute rates from the three windows: this minute, minutes 2–5, minutes 6–15. */
function perMinute(s: Stats, pick: (w: Window) => number) {
  const [a, b, c] = [pick(s.windows["1m"]), pick(s.windows["5m"]), pick(s.windows["15m"])];
  return [(c - b) / 10, (b - a) / 4, a];
}

export function HealthPage() {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [ready, setReady] = useState<{ status: string; home?: string; migration?: string }>();
  const [readyProblem, setReadyProblem] = useState<unknown>();
  const [metrics, setMetrics] = useState<ReturnType<typeof readMetrics>>();
  const [error, setError] = useState<unknown>();
  const [paused, setPaused] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => {
    let live = true;
    const poll = async () => {
      try {
        const [stats, text] = await Promise.all([api<Stats>("/api/admin/stats"), fetchMetrics()]);
        if (!live) return;
        setSamples((s) => [...s.slice(-(keep - 1)), { at: Date.now(), stats }]);
        setMetrics(text === undefined ? undefined : readMetrics(text));
        setError(undefined);
      } catch (err) {
        if (live) setError(err);
      }
      try {
        const r = await fetch("/ready", { headers: { accept: "application/json" } });
        const body = await r.json();
        if (!live) return;
        if (r.ok) {
          setReady(body);
          setReadyProblem(undefined);
        } else {
          setReady(undefined);
          setReadyProblem(new ApiProblem({ ...body, status: r.status }));
        }
      } catch {}
      if (live && !paused) timer.current = setTimeout(poll, everyMs);
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer.current);
    };
  }, [paused]);

  const latest = samples.at(-1)?.stats;
  const labels = samples.map((s) => new Date(s.at).toLocaleTimeString());
  const w1 = latest?.windows["1m"];
  const rate = (w: Window) =>
    w.requests === 0 ? 0 : ((w.errors + w.clientErrors) / w.requests) * 100;
  return (
    <Page
      title="Health"
      actions={
        <button type="button" onClick={() => setPaused((p) => !p)} aria-pressed={paused}>
          {paused ? "Resume live updates" : "Pause live updates"}
        </button>
      }
    >
      <ProblemBox error={error} />
      <div class="tiles">
        <Tile
          label="Readiness"
          value={ready?.status ?? (readyProblem ? "not ready" : "…")}
          bad={readyProblem !== undefined}
        />
        <Tile label="Migration" value={ready?.migration ?? "—"} />
        <Tile label="Home" value={ready?.home ? `${ready.home} (${latest?.scope ?? "…"})` : "—"} />
        <Tile label="Requests, last minute" value={w1 ? String(w1.requests) : "…"} />
        <Tile label="p95, last minute" value={w1?.p95 != null ? `${w1.p95} ms` : "—"} />
        <Tile
          label="Errors, last minute"
          value={w1 ? `${w1.errors} 5xx · ${w1.clientErrors} 4xx` : "…"}
          bad={(w1?.errors ?? 0) > 0}
        />
        <Tile
          label="Cache hit ratio"
          value={
            metrics?.hitRatio == null
              ? "no lookups yet"
              : `${(metrics.hitRatio * 100).toFixed(1)} %`
          }
        />
        <Tile
          label="Webhook backlog"
          value={metrics?.backlog === undefined ? "—" : String(metrics.backlog)}
        />
      </div>
      <ProblemBox error={readyProblem} />
      {latest !== undefined && (
        <div class="charts">
          <BarChart
            title="Requests per minute"
            groups={["6–15 min ago", "2–5 min ago", "this minute"]}
            series={[{ name: "requests/min", points: perMinute(latest, (w) => w.requests) }]}
          />
          <BarChart
            title="Latency percentiles"
            unit=" ms"
            groups={["15 min", "5 min", "1 min"]}
            series={(["p50", "p95", "p99"] as const).map((p) => ({
              name: p,
              points: [latest.windows["15m"][p], latest.windows["5m"][p], latest.windows["1m"][p]],
            }))}
          />
          <LineChart
            title="Requests in the last minute (live)"
            labels={labels}
            series={[
              { name: "requests", points: samples.map((s) => s.stats.windows["1m"].requests) },
            ]}
          />
          <LineChart
            title="Latency, last minute (live)"
            unit=" ms"
            labels={labels}
            series={(["p50", "p95", "p99"] as const).map((p) => ({
              name: p,
              points: samples.map((s) => s.stats.windows["1m"][p]),
            }))}
          />
          <LineChart
            title="Error rate, last minute (live)"
            unit=" %"
            labels={labels}
            series={[
              { name: "4xx+5xx %", points: samples.map((s) => rate(s.stats.windows["1m"])) },
            ]}
          />
        </div>
      )}
      {latest !== undefined && (
        <section class="card">
          <h2>Slowest routes (15 minutes)</h2>
          <Table
            label="Slowest routes"
            rows={latest.slowestRoutes}
            rowKey={(r) => r.route}
            rowAttr="route"
            empty="No requests yet."
            columns={[
              { key: "route", title: "Route", cell: (r) => <code>{r.route}</code> },
              { key: "count", title: "Requests", class: "num", cell: (r) => r.count },
              { key: "mean", title: "Mean", class: "num", cell: (r) => `${r.meanMs} ms` },
              { key: "max", title: "Max", class: "num", cell: (r) => `${r.maxMs} ms` },
            ]}
          />
          <p class="muted">
            Figures describe this {latest.scope}
            {latest.scope === "isolate" &&
              " (Workers: one isolate; Analytics Engine has the global picture)"}
            . Dropped trace spans: {latest.otlpDroppedSpans}.
          </p>
        </section>
      )}
    </Page>
  );
}

async function fetchMetrics(): Promise<string | undefined> {
  try {
    return (await request<string>("/metrics", { headers: { accept: "text/plain" } })).data;
  } catch {
    return undefined;
  }
}

function Tile({ label, value, bad }: { label: string; value: string; bad?: boolean | undefined }) {
  return (
    <div class={`tile${bad ? " bad" : ""}`}>
      <span class="muted">{label}</span>
      <strong>{value}</strong>
    </div>
  );
}
