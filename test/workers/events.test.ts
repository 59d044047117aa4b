import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import worker from "../../src/platform/workers/main";
import type { Home } from "../conformance/home";
import { makeWorkersHome } from "../conformance/workers-home";

const receiver = inject("webhookReceiverUrl");

interface Arrived {
  path: string;
  headers: Record<string, string>;
  body: string;
}

async function arrived(path: string): Promise<Arrived[]> {
  const res = await fetch(`${receiver}/__received?path=${encodeURIComponent(path)}`);
  return (await res.json()) as Arrived[];
}

const recordId = (r: Arrived) => (JSON.parse(r.body) as { data: { id: string } }).data.id;

/**
 * Polls the receiver until every record in `ids` reached `path` (each poll also runs `step`).
 * The database is shared by every workers test file, so other files' posts arrive too.
 */
async function waitFor(path: string, ids: string[], step?: () => Promise<unknown>) {
  for (;;) {
    const got = await arrived(path);
    const seen = new Set(got.map(recordId));
    if (ids.every((id) => seen.has(id))) return got;
    if (step) await step();
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("events in workerd: queue consumer and cron sweep", () => {
  let home: Home;
  let admin: Awaited<ReturnType<Home["signIn"]>>;
  beforeAll(async () => {
    home = await makeWorkersHome();
    admin = await home.signIn("admin");
  });
  afterAll(() => home.close());

  async function subscribe(path: string) {
    const res = await home.request("/api/webhooks", {
      method: "POST",
      headers: admin.headers,
      json: { url: `${receiver}${path}`, patterns: ["posts.created"] },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { id: string; secret: string };
  }

  async function unsubscribe(id: string) {
    const res = await home.request(`/api/webhooks/${id}`, {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(res.status).toBe(204);
  }

  async function writePosts(h: Home, marker: string, n: number) {
    const user = await h.signIn();
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await h.request("/api/collections/posts/records", {
        method: "POST",
        headers: user.headers,
        json: { title: `${marker} ${i}`, status: "published" },
      });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
    }
    await h.settle();
    return ids;
  }

  it("a write commits its event; the queue consumer delivers it, signed (verified with standardwebhooks)", async () => {
    const path = `/wk-queue-${crypto.randomUUID()}`;
    const ep = await subscribe(path);
    const ids = await writePosts(home, path, 3);
    // The consumer, as the Queues runtime calls it with the producer's "dispatch" nudges.
    const batch = createMessageBatch("nearbase-events", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { kind: "dispatch" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch as never, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.ackAll).toBe(true);
    expect(result.retryBatch.retry).toBe(false);
    const got = await waitFor(path, ids);
    const wh = new Webhook(ep.secret);
    const bodies = got.map(
      (r) => wh.verify(r.body, r.headers) as { id: string; data: { id: string } },
    );
    expect(bodies.filter((b) => ids.includes(b.data.id)).length).toBe(3);
    expect(new Set(bodies.map((b) => b.id)).size).toBe(bodies.length);
    await unsubscribe(ep.id);
  });

  it("without a queue, the cron trigger's sweep delivers what was committed (lease row recorded)", async () => {
    const path = `/wk-cron-${crypto.randomUUID()}`;
    const ep = await subscribe(path);
    const noQueue = await makeWorkersHome({ env: { EVENTS_QUEUE: undefined } as never });
    const ids = await writePosts(noQueue, path, 2);
    const started = Date.now();
    const sweep = async () => {
      const ctx = createExecutionContext();
      worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
      await waitOnExecutionContext(ctx);
    };
    await sweep();
    const got = await waitFor(path, ids, sweep);
    const wh = new Webhook(ep.secret);
    for (const r of got) expect(wh.verify(r.body, r.headers)).toBeTruthy();
    expect(got.filter((r) => ids.includes(recordId(r))).length).toBe(2);
    await unsubscribe(ep.id);
    const lease = await home.sql("SELECT last_run_at FROM nb_jobs WHERE name = 'outbox-sweep'");
    expect(Number(lease[0]?.last_run_at)).toBeGreaterThanOrEqual(started);
    await noQueue.close();
  });
});
