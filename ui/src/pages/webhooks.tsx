import { useState } from "preact/hooks";
import { api, qs, request } from "../api";
import { actionColumn, type Column, Table } from "../components/table";
import { Page, ProblemBox, useAction, useLoad, when } from "../components/ui";
import { href, navigate } from "../router";

interface Endpoint {
  id: string;
  url: string;
  description: string;
  patterns: string[];
  enabled: boolean;
  disabledReason: string | null;
  failureStreak: number;
  created: string;
}
interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  status: "pending" | "delivering" | "succeeded" | "dead";
  attempts: number;
  nextAttemptAt: string | null;
  created: string;
  completed: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
}

export function WebhooksPage() {
  const list = useLoad(() => api<{ items: Endpoint[] }>("/api/webhooks"), []);
  const [url, setUrl] = useState("");
  const [patterns, setPatterns] = useState("*");
  const [secret, setSecret] = useState<string>();
  const act = useAction();
  const create = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const created = await api<Endpoint & { secret: string }>("/api/webhooks", {
        method: "POST",
        json: {
          url: url.trim(),
          patterns: patterns
            .split(",")
            .map((p) => p.trim())
            .filter(Boolean),
        },
      });
      setSecret(created.secret);
      setUrl("");
      list.reload();
    });
  };
  return (
    <Page title="Webhooks">
      <ProblemBox error={act.error} />
      {secret !== undefined && (
        <div class="secret" role="status">
          <p>Signing secret (Standard Webhooks) — shown only this once:</p>
          <input readOnly aria-label="Signing secret" value={secret} />
          <button type="button" class="link" onClick={() => setSecret(undefined)}>
            I have stored it
          </button>
        </div>
      )}
      <form class="card inline-form" onSubmit={create} aria-label="Add an endpoint">
        <label class="grow">
          URL
          <input
            type="url"
            name="url"
            required
            placeholder="https://example.com/hooks"
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
          />
        </label>
        <label>
          Events (comma-separated)
          <input
            name="patterns"
            required
            value={patterns}
            onInput={(e) => setPatterns(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={act.busy}>
          Add endpoint
        </button>
      </form>
      <Table
        label="Webhook endpoints"
        columns={endpointColumns}
        list={list}
        empty="No endpoints yet."
      />
    </Page>
  );
}

const endpointColumns: Column<Endpoint>[] = [
  { key: "url", title: "URL", cell: (w) => <a href={href("webhooks", w.id)}>{w.url}</a> },
  { key: "patterns", title: "Events", cell: (w) => w.patterns.join(", ") },
  {
    key: "state",
    title: "State",
    cell: (w) =>
      w.enabled ? "enabled" : `disabled${w.disabledReason ? `: ${w.disabledReason}` : ""}`,
  },
  { key: "failures", title: "Failures in a row", cell: (w) => w.failureStreak, class: "num" },
  { key: "created", title: "Created", cell: (w) => when(w.created) },
];

interface TestAttempt {
  eventId: string;
  outcome: "succeeded" | "failed";
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

/** What a test attempt did, in words: "succeeded: HTTP 204 in 12 ms". */
export function describeAttempt(a: TestAttempt): string {
  const answer = a.statusCode !== null ? `HTTP ${a.statusCode}` : (a.error ?? "no answer");
  return `Test event ${a.outcome}: ${answer} in ${Math.round(a.durationMs)} ms.`;
}

/** `<input type="datetime-local">` wants local time without a zone, to the minute. */
export function localInputValue(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

export function WebhookPage({ id }: { id: string }) {
  const base = `/api/webhooks/${encodeURIComponent(id)}`;
  const endpoint = useLoad(() => api<Endpoint>(base), [id]);
  const [status, setStatus] = useState("");
  const deliveries = useLoad(
    () => api<{ items: Delivery[] }>(`${base}/deliveries${qs({ status, limit: 50 })}`),
    [id, status],
  );
  const act = useAction();
  const [notice, setNotice] = useState<string>();
  const run = (work: () => Promise<unknown>, done: string | ((answer: unknown) => string)) =>
    void act.run(async () => {
      setNotice(undefined);
      const answer = await work();
      setNotice(typeof done === "string" ? done : done(answer));
      endpoint.reload();
      deliveries.reload();
    });
  const [since, setSince] = useState(() => localInputValue(new Date(Date.now() - 3_600_000)));
  const [until, setUntil] = useState("");
  const replayRange = (ev: Event) => {
    ev.preventDefault();
    run(
      () =>
        api<{ replayed: number }>(`${base}/replay`, {
          method: "POST",
          json: {
            since: new Date(since).toISOString(),
            ...(until === "" ? {} : { until: new Date(until).toISOString() }),
          },
        }),
      (answer) => {
        const n = (answer as { replayed: number }).replayed;
        return n === 0
          ? "Nothing to replay in that range."
          : `${n} deliver${n === 1 ? "y is" : "ies are"} due again.`;
      },
    );
  };
  const e = endpoint.data;
  return (
    <Page
      title={
        <>
          <a href="#/webhooks">Webhooks</a> / {e?.url ?? id}
        </>
      }
    >
      <ProblemBox error={endpoint.error} onRetry={endpoint.reload} />
      <ProblemBox error={act.error} />
      {notice !== undefined && (
        <p class="ok" role="status">
          {notice}
        </p>
      )}
      {e !== undefined && (
        <div class="actions">
          <button
            type="button"
            disabled={act.busy}
            onClick={() =>
              run(
                () => request(base, { method: "PATCH", json: { enabled: !e.enabled } }),
                e.enabled ? "Endpoint disabled." : "Endpoint enabled.",
              )
            }
          >
            {e.enabled ? "Disable" : "Enable"}
          </button>
          <button
            type="button"
            disabled={act.busy}
            onClick={() =>
              run(
                () => api<TestAttempt>(`${base}/test`, { method: "POST" }),
                (a) => describeAttempt(a as TestAttempt),
              )
            }
          >
            Send a test event
          </button>
          <button
            type="button"
            class="danger"
            disabled={act.busy}
            onClick={() => {
              if (!confirm(`Delete the endpoint ${e.url}?`)) return;
              void act.run(async () => {
                await request(base, { method: "DELETE" });
                navigate("#/webhooks");
              });
            }}
          >
            Delete endpoint
          </button>
        </div>
      )}
      <section class="card" aria-labelledby="deliveries-title">
        <div class="row">
          <h2 id="deliveries-title">Deliveries</h2>
          <label>
            <span class="sr-only">Status</span>
            <select
              name="status"
              value={status}
              onChange={(ev) => setStatus(ev.currentTarget.value)}
            >
              <option value="">All</option>
              <option value="pending">Pending</option>
              <option value="delivering">Delivering</option>
              <option value="succeeded">Succeeded</option>
              <option value="dead">Dead letters</option>
            </select>
          </label>
        </div>
        <Table
          label="Deliveries"
          list={deliveries}
          empty={`No deliveries${status === "dead" ? " in the dead letters" : ""}.`}
          columns={[
            { key: "event", title: "Event", cell: (d) => d.eventType },
            { key: "status", title: "Status", cell: (d) => d.status },
            { key: "attempts", title: "Attempts", cell: (d) => d.attempts, class: "num" },
            {
              key: "answer",
              title: "Last answer",
              cell: (d) => d.lastStatusCode ?? d.lastError ?? "—",
            },
            { key: "created", title: "Created", cell: (d) => when(d.created) },
            actionColumn<Delivery>(
              "Replay",
              (d) =>
                run(
                  () =>
                    request(`${base}/deliveries/${encodeURIComponent(d.id)}/replay`, {
                      method: "POST",
                    }),
                  "Delivery replayed.",
                ),
              { has: (d) => d.status === "dead" || d.status === "succeeded", disabled: act.busy },
            ),
          ]}
        />
      </section>
      <form class="card inline-form" onSubmit={replayRange} aria-labelledby="replay-title">
        <h2 id="replay-title" class="full">
          Replay a time range
        </h2>
        <p class="muted full">
          Dead deliveries of events in the range are due again, and events in it this endpoint never
          got (it was off, or added later) are sent.
        </p>
        <label>
          From
          <input
            type="datetime-local"
            name="since"
            required
            value={since}
            onInput={(ev) => setSince(ev.currentTarget.value)}
          />
        </label>
        <label>
          Until (empty: now)
          <input
            type="datetime-local"
            name="until"
            value={until}
            onInput={(ev) => setUntil(ev.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={act.busy}>
          Replay range
        </button>
      </form>
    </Page>
  );
}
