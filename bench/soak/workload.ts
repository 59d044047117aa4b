import { logIn, type Session, signUp, sleep } from "./lib";
import { createPost, type Ledger } from "./reconcile";

/**
 * The mixed workload of `npm run soak` and `npm run chaos`: public list and get reads, signed-in
 * reads (/api/auth/me), creates and updates (every create in the ledger for reconciliation),
 * batches of three creates, log-ins, /health, and (Node home) realtime SSE subscribers — paced
 * to a target rate by `concurrency` closed-loop clients. Statuses and latencies go into
 * one-second buckets.
 */
export type Op = "list" | "get" | "me" | "create" | "update" | "batch" | "login" | "health";
const weights: [Op, number][] = [
  ["list", 35],
  ["get", 15],
  ["me", 10],
  ["create", 15],
  ["update", 5],
  ["batch", 5],
  ["login", 5],
  ["health", 10],
];

export interface Bucket {
  /** Seconds since the workload started. */
  t: number;
  byStatus: Record<string, number>;
  latencies: number[];
  byOp: Partial<Record<Op, number>>;
  /** Answers other than 2xx, by "op status". */
  notOk: Record<string, number>;
}

export interface WorkloadOptions {
  base: string;
  /** Target requests per second over all clients. */
  rate: number;
  concurrency: number;
  ledger: Ledger;
  /** Titles of created posts start with this (reconciliation finds them by it). */
  prefix: string;
  /** SSE subscribers to keep open (0 for none). */
  subscribers?: number;
  /** A single request gives up after this long (counted as status "timeout"). */
  requestTimeoutMs?: number;
}

export async function startWorkload(options: WorkloadOptions) {
  const { base } = options;
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  const accounts: Session[] = [];
  for (let i = 0; i < 4; i++)
    accounts.push(await signUp(base, `soak-${options.prefix}${i}@example.com`));
  const ids: string[] = [];
  const mine = new Map<string, string>(); // post id -> owner's token
  const buckets: Bucket[] = [];
  const started = performance.now();
  let stopped = false;
  let seq = 0;
  let realtimeChanges = 0;
  let realtimeConnects = 0;

  const bucket = () => {
    const t = Math.floor((performance.now() - started) / 1000);
    while (buckets.length <= t)
      buckets.push({ t: buckets.length, byStatus: {}, latencies: [], byOp: {}, notOk: {} });
    return buckets[t]!;
  };
  const note = (op: Op, status: string, ms: number, code?: string) => {
    const b = bucket();
    b.byStatus[status] = (b.byStatus[status] ?? 0) + 1;
    b.latencies.push(ms);
    b.byOp[op] = (b.byOp[op] ?? 0) + 1;
    // With the problem's code when the answer has one (503 UNAVAILABLE vs OVERLOADED …).
    const key = code === undefined ? `${op} ${status}` : `${op} ${status} ${code}`;
    if (!/^2\d\d$/.test(status)) b.notOk[key] = (b.notOk[key] ?? 0) + 1;
  };
  const problemCode = (status: number, text: string) => {
    if (status < 400) return undefined;
    try {
      // The code and the start of the detail: UNAVAILABLE alone does not say whether the read
      // ran out of time, the server shed load or the database could not be reached.
      const { code, detail } = JSON.parse(text) as { code?: unknown; detail?: unknown };
      if (typeof code !== "string") return undefined;
      return typeof detail === "string" ? `${code} (${detail.slice(0, 48)})` : code;
    } catch {
      return undefined;
    }
  };
  const pick = (): Op => {
    let r = Math.random() * 100;
    for (const [op, w] of weights) {
      r -= w;
      if (r < 0) return op;
    }
    return "list";
  };
  const account = () => accounts[Math.floor(Math.random() * accounts.length)]!;
  const request = async (op: Op, path: string, init?: RequestInit) => {
    const t0 = performance.now();
    try {
      const res = await fetch(base + path, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      note(op, String(res.status), performance.now() - t0, problemCode(res.status, text));
      return { status: res.status, text };
    } catch (err) {
      const name = (err as Error).name;
      note(op, name === "TimeoutError" ? "timeout" : "neterr", performance.now() - t0);
      return { status: 0, text: "" };
    }
  };
  const json = (token: string | undefined, body: unknown): RequestInit => ({
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });

  async function one(op: Op) {
    const who = account();
    switch (op) {
      case "list": {
        const filter =
          Math.random() < 0.5 ? "" : `&filter=${encodeURIComponent("status = 'published'")}`;
        await request(op, `/api/collections/posts/records?limit=20${filter}`);
        return;
      }
      case "get": {
        const id = ids[Math.floor(Math.random() * ids.length)];
        await request(
          op,
          id ? `/api/collections/posts/records/${id}` : "/api/collections/posts/records?limit=1",
        );
        return;
      }
      case "me":
        await request(op, "/api/auth/me", {
          headers: { authorization: `Bearer ${who.accessToken}` },
        });
        return;
      case "create": {
        const t0 = performance.now();
        const outcome = await createPost(
          base,
          who.accessToken,
          `${options.prefix}${seq++}`,
          options.ledger,
          timeoutMs,
        );
        note(
          op,
          outcome.kind === "acked"
            ? String(outcome.status)
            : String(outcome.status ?? ("error" in outcome ? "neterr" : 0)),
          performance.now() - t0,
        );
        if (outcome.kind === "acked") {
          ids.push(outcome.id);
          mine.set(outcome.id, who.accessToken);
          if (ids.length > 5000) ids.splice(0, 1000);
        }
        return;
      }
      case "update": {
        const id = ids[Math.floor(Math.random() * ids.length)];
        const token = id === undefined ? undefined : mine.get(id);
        if (id === undefined || token === undefined) return one("list");
        await request(op, `/api/collections/posts/records/${id}`, {
          method: "PATCH",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ body: `edited ${Date.now()}` }),
        });
        return;
      }
      case "batch": {
        const titles = [0, 1, 2].map(() => `${options.prefix}${seq++}`);
        const r = await request(
          op,
          "/api/batch",
          json(who.accessToken, {
            operations: titles.map((title) => ({
              method: "POST",
              collection: "posts",
              body: { title, status: "published" },
            })),
          }),
        );
        const results = r.status >= 200 && r.status < 300 ? batchIds(r.text) : [];
        titles.forEach((title, i) => {
          if (r.status >= 200 && r.status < 300)
            options.ledger.record(title, { kind: "acked", id: results[i] ?? "", status: r.status });
          else if (r.status >= 400 && r.status < 500)
            options.ledger.record(title, { kind: "refused", status: r.status });
          else options.ledger.record(title, { kind: "unknown", status: r.status });
        });
        return;
      }
      case "login": {
        const t0 = performance.now();
        try {
          const s = await logIn(base, who.email, who.password);
          who.accessToken = s.accessToken;
          note(op, "200", performance.now() - t0);
        } catch (err) {
          const m = /log-in (\d+)/.exec((err as Error).message);
          note(op, m ? m[1]! : "neterr", performance.now() - t0);
        }
        return;
      }
      case "health":
        await request(op, "/health");
        return;
    }
  }

  const perClientGapMs = (1000 * options.concurrency) / options.rate;
  const clients = Array.from({ length: options.concurrency }, async (_, c) => {
    await sleep((perClientGapMs * c) / options.concurrency);
    while (!stopped) {
      const t0 = performance.now();
      await one(pick());
      const rest = perClientGapMs - (performance.now() - t0);
      if (rest > 0) await sleep(rest);
    }
  });

  // Realtime subscribers (SSE), reconnecting when a stream ends.
  const subscriberAborts: AbortController[] = [];
  const subscribers = Array.from({ length: options.subscribers ?? 0 }, async (_, i) => {
    while (!stopped) {
      const abort = new AbortController();
      subscriberAborts[i] = abort;
      try {
        const res = await fetch(`${base}/api/realtime?topic=posts`, {
          headers: {
            accept: "text/event-stream",
            authorization: `Bearer ${accounts[i % accounts.length]!.accessToken}`,
          },
          signal: abort.signal,
        });
        if (res.status !== 200 || res.body === null) {
          await res.body?.cancel();
          await sleep(1000);
          continue;
        }
        realtimeConnects++;
        const decoder = new TextDecoder();
        for await (const chunk of res.body) {
          const text = decoder.decode(chunk, { stream: true });
          realtimeChanges += text.split("event: change").length - 1;
        }
      } catch {
        if (!stopped) await sleep(500);
      }
    }
  });

  return {
    buckets,
    accounts,
    realtime: () => ({ changes: realtimeChanges, connects: realtimeConnects }),
    elapsedSeconds: () => (performance.now() - started) / 1000,
    async stop() {
      stopped = true;
      for (const a of subscriberAborts) a?.abort();
      await Promise.all([...clients, ...subscribers]);
    },
  };
}

function batchIds(text: string): string[] {
  try {
    const body = JSON.parse(text) as unknown;
    const list = (Array.isArray(body) ? body : (body as { results?: unknown[] }).results) ?? [];
    return (list as { body?: { id?: string } }[]).map((r) => r.body?.id ?? "");
  } catch {
    return [];
  }
}
