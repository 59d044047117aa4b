import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  claimDue,
  deliver,
  dispatchOnce,
  fanOut,
  observeBacklog,
} from "../../src/core/events/dispatch";
import { eventMetrics } from "../../src/core/observability/metrics";
import { createNodePlatform } from "../../src/platform/node/platform";
import { createTestApp, readProblem, type TestApp } from "../harness";
import { type Receiver, startReceiver } from "./webhook-receiver";

const webhookEnv = {
  WEBHOOK_SECRET_KEY: "test-webhook-key-0123456789abcdef0123456789",
  WEBHOOK_ALLOW_LOOPBACK: "true",
  WEBHOOK_MAX_ATTEMPTS: "3",
  WEBHOOK_RETRY_BASE_MS: "5",
  WEBHOOK_RETRY_CAP_MS: "20",
  WEBHOOK_DISABLE_AFTER_FAILURES: "7",
};

interface Endpoint {
  id: string;
  secret: string;
  enabled: boolean;
  disabledReason: string | null;
  failureStreak: number;
}

describe("webhooks (Node home, real receiver on loopback)", () => {
  let t: TestApp;
  let rx: Receiver;
  let admin: Awaited<ReturnType<TestApp["signIn"]>>;
  beforeAll(async () => {
    t = await createTestApp({ env: webhookEnv });
    rx = await startReceiver();
    admin = await t.signIn("admin");
  });
  afterAll(async () => {
    await t.platform.dispatcher.stop();
    await rx.close();
    await t.close();
  });

  async function subscribe(body: Record<string, unknown>): Promise<Endpoint> {
    const res = await t.request("/api/webhooks", {
      method: "POST",
      headers: admin.headers,
      json: body,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as Endpoint;
  }

  async function post(user: { headers: Record<string, string> }, title: string) {
    const res = await t.request("/api/collections/posts/records", {
      method: "POST",
      headers: user.headers,
      json: { title, status: "published" },
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  const bodyOf = (r: { body: string }) =>
    JSON.parse(r.body) as {
      id: string;
      type: string;
      data: { id: string; record: Record<string, unknown> };
    };

  /** Runs dispatcher passes until `predicate` holds (retries become due as real time passes). */
  const until = (predicate: () => boolean) =>
    rx.until(predicate, () => dispatchOnce(t.platform.delivery));

  describe("admin API", () => {
    it("creates an endpoint whose secret is shown once and stored only encrypted", async () => {
      const ep = await subscribe({ url: rx.url("/admin"), patterns: ["posts.*"] });
      expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      const list = await t.request("/api/webhooks", { headers: admin.headers });
      expect(list.status).toBe(200);
      const text = await list.text();
      expect(text).toContain(ep.id);
      expect(text).not.toContain(ep.secret);
      const got = await t.request(`/api/webhooks/${ep.id}`, { headers: admin.headers });
      expect(await got.text()).not.toContain('secret":"whsec');
      const stored = await t.client.execute({
        sql: "SELECT secret FROM nb_webhook_endpoints WHERE id = ?",
        args: [ep.id],
      });
      expect(String(stored.rows[0]!.secret)).toMatch(/^v1\./);
      expect(String(stored.rows[0]!.secret)).not.toContain(ep.secret.slice(6, 20));
    });

    it("is for admins only: 401 anonymous, 403 users", async () => {
      const anon = await t.request("/api/webhooks");
      expect(anon.status).toBe(401);
      expect((await readProblem(anon)).code).toBe("UNAUTHENTICATED");
      const user = await t.signIn();
      const res = await t.request("/api/webhooks", {
        method: "POST",
        headers: user.headers,
        json: { url: rx.url(), patterns: ["*"] },
      });
      expect(res.status).toBe(403);
      expect((await readProblem(res)).code).toBe("FORBIDDEN");
    });

    it.each([
      [{ url: "not a url", patterns: ["posts.*"] }, "/url"],
      [{ url: "ftp://example.com/x", patterns: ["posts.*"] }, "/url"],
      [{ url: "http://user:pw@example.com/", patterns: ["posts.*"] }, "/url"],
      [{ url: "http://10.0.0.7/hook", patterns: ["posts.*"] }, "/url"],
      [{ url: "http://169.254.169.254/latest/meta-data", patterns: ["posts.*"] }, "/url"],
      [{ url: "http://metadata.google.internal/", patterns: ["posts.*"] }, "/url"],
      [{ url: "http://[fe80::1]/", patterns: ["posts.*"] }, "/url"],
      [{ url: "http://127.0.0.1:1/", patterns: ["nosuch.created"] }, "/patterns/0"],
      [{ url: "http://127.0.0.1:1/", patterns: ["posts.*", "posts"] }, "/patterns/1"],
      [{ url: "http://127.0.0.1:1/", patterns: ["*.*.*"] }, "/patterns/0"],
      [{ url: "http://127.0.0.1:1/", patterns: [] }, "/patterns"],
      [{ url: "http://127.0.0.1:1/", patterns: ["*"], extra: 1 }, "/extra"],
    ])("refuses bad input with a 400 problem naming the field: %j", async (body, path) => {
      const res = await t.request("/api/webhooks", {
        method: "POST",
        headers: admin.headers,
        json: body,
      });
      expect(res.status).toBe(400);
      const problem = await readProblem(res);
      expect(problem.code).toBe("VALIDATION_FAILED");
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    });

    it("allows a private address only for an endpoint explicitly allowed to, never metadata", async () => {
      const ok = await t.request("/api/webhooks", {
        method: "POST",
        headers: admin.headers,
        json: {
          url: "http://10.0.0.7/hook",
          patterns: ["posts.*"],
          allowPrivate: true,
          enabled: false,
        },
      });
      expect(ok.status).toBe(201);
      const metadata = await t.request("/api/webhooks", {
        method: "POST",
        headers: admin.headers,
        json: { url: "http://169.254.169.254/", patterns: ["*"], allowPrivate: true },
      });
      expect(metadata.status).toBe(400);
      const { id } = (await ok.json()) as Endpoint;
      expect(
        (await t.request(`/api/webhooks/${id}`, { method: "DELETE", headers: admin.headers }))
          .status,
      ).toBe(204);
      expect((await t.request(`/api/webhooks/${id}`, { headers: admin.headers })).status).toBe(404);
    });

    it("is in the OpenAPI document: every served route, nothing unserved", async () => {
      const doc = (await (await t.request("/openapi.json")).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const served = t.app.routes
        .filter((r) => r.method !== "ALL" && r.path.startsWith("/api/webhooks"))
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
      const documented = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith("/api/webhooks"))
        .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
      expect(served.length).toBe(11);
      expect([...documented].sort()).toEqual([...new Set(served)].sort());
    });

    it("sends a test event and reports the attempt", async () => {
      const ep = await subscribe({ url: rx.url("/test-event"), patterns: ["posts.created"] });
      const res = await t.request(`/api/webhooks/${ep.id}/test`, {
        method: "POST",
        headers: admin.headers,
      });
      expect(res.status).toBe(200);
      const result = (await res.json()) as { outcome: string; statusCode: number };
      expect(result).toMatchObject({ outcome: "succeeded", statusCode: 204 });
      const got = rx.at("/test-event");
      expect(got.length).toBe(1);
      expect(new Webhook(ep.secret).verify(got[0]!.body, got[0]!.headers)).toMatchObject({
        type: "webhook.test",
      });
    });
  });

  describe("delivery", () => {
    it("delivers every matching event once, signed per Standard Webhooks (verified by the standardwebhooks package)", async () => {
      const path = "/healthy";
      const ep = await subscribe({ url: rx.url(path), patterns: ["posts.*"] });
      const deletes = await subscribe({ url: rx.url("/deletes"), patterns: ["*.deleted"] });
      const user = await t.signIn();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await post(user, `healthy ${i}`));
      const gone = await t.request(`/api/collections/posts/records/${ids[0]}`, {
        method: "DELETE",
        headers: user.headers,
      });
      expect(gone.status).toBe(204);
      await until(() => rx.at(path).length >= 6 && rx.at("/deletes").length >= 1);
      await t.platform.dispatcher.idle();

      const got = rx.at(path);
      expect(got.length).toBe(6);
      const wh = new Webhook(ep.secret);
      for (const r of got) {
        expect(r.headers["content-type"]).toBe("application/json");
        expect(r.headers["webhook-signature"]).toMatch(/^v1,/);
        expect(wh.verify(r.body, r.headers)).toBeTruthy();
        expect(r.headers["webhook-id"]).toBe(bodyOf(r).id);
      }
      // A wrong secret does not verify.
      expect(() => new Webhook(deletes.secret).verify(got[0]!.body, got[0]!.headers)).toThrow();
      const bodies = got.map(bodyOf);
      expect(new Set(bodies.map((b) => b.id)).size).toBe(6);
      expect(
        bodies
          .filter((b) => b.type === "posts.created")
          .map((b) => b.data.id)
          .sort(),
      ).toEqual([...ids].sort());
      expect(bodies.find((b) => b.type === "posts.deleted")?.data.id).toBe(ids[0]);
      for (const b of bodies) expect(Object.keys(b.data.record)).not.toContain("moderationNote");
      const del = rx.at("/deletes");
      expect(del.length).toBe(1);
      expect(new Webhook(deletes.secret).verify(del[0]!.body, del[0]!.headers)).toMatchObject({
        type: "posts.deleted",
      });

      const deliveries = await t.request(`/api/webhooks/${ep.id}/deliveries?status=succeeded`, {
        headers: admin.headers,
      });
      const { items } = (await deliveries.json()) as {
        items: { status: string; attempts: number }[];
      };
      expect(items.length).toBe(6);
      expect(items.every((d) => d.status === "succeeded" && d.attempts === 1)).toBe(true);
    });

    it("loses nothing while the receiver is down, then delivers everything once it is back", async () => {
      const path = "/flaky";
      let down = true;
      const previous = rx;
      previous.set((r) => (r.path === path && down ? 503 : 204));
      const ep = await subscribe({ url: rx.url(path), patterns: ["posts.created"] });
      // Enough attempts that the outage does not dead-letter anything.
      await t.client.execute({
        sql: "UPDATE nb_webhook_endpoints SET failure_streak = 0 WHERE id = ?",
        args: [ep.id],
      });
      const user = await t.signIn();
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await post(user, `flaky ${i}`));
      // One failed attempt each (a single pass by hand), then the receiver comes back.
      await fanOut(t.platform.delivery);
      for (const c of await claimDue(t.platform.delivery, 100))
        await deliver(t.platform.delivery, c);
      expect(rx.at(path).length).toBe(4);
      down = false;
      await until(() => rx.at(path).length >= 8);
      const wh = new Webhook(ep.secret);
      for (const r of rx.at(path)) expect(wh.verify(r.body, r.headers)).toBeTruthy();
      const log = await t.client.execute({
        sql: "SELECT outcome, count(*) AS n FROM nb_webhook_attempts WHERE endpoint_id = ? GROUP BY outcome ORDER BY outcome",
        args: [ep.id],
      });
      expect(log.rows.map((r) => [r.outcome, Number(r.n)])).toEqual([
        ["failed", 4],
        ["succeeded", 4],
      ]);
      previous.set(() => 204);
    });

    it("dead-letters after the maximum attempts, keeps a per-attempt log, and replays one delivery or a time range", async () => {
      const path = "/broken";
      let broken = true;
      rx.set((r) => (r.path === path && broken ? 500 : 204));
      const ep = await subscribe({ url: rx.url(path), patterns: ["posts.created"] });
      const user = await t.signIn();
      const since = new Date().toISOString();
      const first = await post(user, "broken 1");
      const second = await post(user, "broken 2");
      const dead = async () =>
        (
          (await (
            await t.request(`/api/webhooks/${ep.id}/deliveries?status=dead`, {
              headers: admin.headers,
            })
          ).json()) as {
            items: { id: string; eventId: string; attempts: number; lastStatusCode: number }[];
          }
        ).items;
      let items: Awaited<ReturnType<typeof dead>> = [];
      await until(() => rx.at(path).length >= 6);
      await t.platform.dispatcher.idle();
      items = await dead();
      expect(items.length).toBe(2);
      expect(items.every((d) => d.attempts === 3 && d.lastStatusCode === 500)).toBe(true);
      expect(rx.at(path).length).toBe(6);

      const one = await t.request(`/api/webhooks/${ep.id}/deliveries/${items[0]!.id}`, {
        headers: admin.headers,
      });
      const detail = (await one.json()) as {
        status: string;
        log: { attempt: number; outcome: string; statusCode: number; response: string }[];
      };
      expect(detail.status).toBe("dead");
      expect(detail.log.map((a) => [a.attempt, a.outcome, a.statusCode])).toEqual([
        [1, "failed", 500],
        [2, "failed", 500],
        [3, "failed", 500],
      ]);
      expect(detail.log[0]!.response.length).toBeLessThanOrEqual(1024);
      expect(detail.log[0]!.response).toMatch(/^no: x+/);

      broken = false;
      const replay = await t.request(`/api/webhooks/${ep.id}/deliveries/${items[0]!.id}/replay`, {
        method: "POST",
        headers: admin.headers,
      });
      expect(replay.status).toBe(202);
      await until(() => rx.at(path).length >= 7);
      await t.platform.dispatcher.idle();
      expect((await dead()).length).toBe(1);

      const range = await t.request(`/api/webhooks/${ep.id}/replay`, {
        method: "POST",
        headers: admin.headers,
        json: { since },
      });
      expect(range.status).toBe(202);
      expect(await range.json()).toEqual({ replayed: 1 });
      await until(() => rx.at(path).length >= 8);
      await t.platform.dispatcher.idle();
      expect(await dead()).toEqual([]);
      const delivered = new Set(
        rx
          .at(path)
          .slice(6)
          .map((r) => bodyOf(r).data.id),
      );
      expect(delivered).toEqual(new Set([first, second]));
      rx.set(() => 204);
    });

    it("switches an endpoint off after persistent failure, visibly, and on again by PATCH", async () => {
      const path = "/always-down";
      rx.set((r) => (r.path === path ? 502 : 204));
      const ep = await subscribe({ url: rx.url(path), patterns: ["posts.created"] });
      const user = await t.signIn();
      for (let i = 0; i < 3; i++) await post(user, `down ${i}`);
      const view = async () =>
        (await (
          await t.request(`/api/webhooks/${ep.id}`, { headers: admin.headers })
        ).json()) as Endpoint;
      await until(() => rx.at(path).length >= 7);
      await t.platform.dispatcher.idle();
      const off = await view();
      expect(off.enabled).toBe(false);
      expect(off.disabledReason).toMatch(/^7 consecutive failed attempts \(last: HTTP 502\)/);
      const attempted = rx.at(path).length;
      expect(
        t.log.events.some((l) => l.msg === "webhook endpoint disabled" && l.endpoint === ep.id),
      ).toBe(true);
      // Switched off: nothing more is attempted.
      await post(user, "while off");
      await dispatchOnce(t.platform.delivery);
      expect(rx.at(path).length).toBe(attempted);
      const on = await t.request(`/api/webhooks/${ep.id}`, {
        method: "PATCH",
        headers: admin.headers,
        json: { enabled: true },
      });
      expect(await on.json()).toMatchObject({
        enabled: true,
        disabledReason: null,
        failureStreak: 0,
      });
      rx.set(() => 204);
    });

    it("reports the backlog (events not fanned out, deliveries due, oldest age) on /metrics", async () => {
      const path = "/backlog";
      const ep = await subscribe({ url: rx.url(path), patterns: ["posts.created"] });
      const user = await t.signIn();
      await post(user, "backlog 1");
      await post(user, "backlog 2");
      await observeBacklog(t.platform.delivery);
      expect(eventMetrics.backlog.get({ kind: "events" })).toBeGreaterThanOrEqual(2);
      await fanOut(t.platform.delivery);
      await observeBacklog(t.platform.delivery);
      expect(eventMetrics.backlog.get({ kind: "events" })).toBe(0);
      expect(eventMetrics.backlog.get({ kind: "deliveries" })).toBeGreaterThanOrEqual(2);
      expect(eventMetrics.oldestPending.get()).toBeGreaterThanOrEqual(0);
      const metrics = await (await t.request("/metrics", { headers: admin.headers })).text();
      expect(metrics).toContain("# TYPE nearbase_webhook_backlog gauge");
      expect(metrics).toMatch(/nearbase_webhook_backlog\{kind="deliveries"\} [1-9]/);
      expect(metrics).toContain('nearbase_events_written_total{collection="posts"}');
      await until(() => rx.at(path).length >= 2);
      // Other tests' retries may still be due shortly: drain until nothing is left.
      for (;;) {
        await dispatchOnce(t.platform.delivery);
        if (eventMetrics.backlog.get({ kind: "deliveries" }) === 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(eventMetrics.oldestPending.get()).toBe(0);
      await t.request(`/api/webhooks/${ep.id}`, { method: "DELETE", headers: admin.headers });
    });

    it("never follows redirects", async () => {
      const path = "/redirect";
      rx.set((r) => (r.path === path ? 302 : 204));
      const ep = await subscribe({ url: rx.url(path), patterns: ["*"] });
      const res = await t.request(`/api/webhooks/${ep.id}/test`, {
        method: "POST",
        headers: admin.headers,
      });
      expect(await res.json()).toMatchObject({
        outcome: "failed",
        statusCode: 302,
        error: "redirect not followed",
      });
      expect(rx.received.some((r) => r.path === "/elsewhere")).toBe(false);
      rx.set(() => 204);
      await t.request(`/api/webhooks/${ep.id}`, { method: "DELETE", headers: admin.headers });
    });

    it("gives up on a receiver that does not answer within the endpoint's timeout", async () => {
      const path = "/hang-timeout";
      rx.set((r) => (r.path === path ? "hang" : 204));
      const ep = await subscribe({ url: rx.url(path), patterns: ["*"], timeoutMs: 200 });
      const res = await t.request(`/api/webhooks/${ep.id}/test`, {
        method: "POST",
        headers: admin.headers,
      });
      expect(await res.json()).toMatchObject({
        outcome: "failed",
        statusCode: null,
        error: "timed out after 200 ms",
      });
      rx.release();
      rx.set(() => 204);
      await t.request(`/api/webhooks/${ep.id}`, { method: "DELETE", headers: admin.headers });
    });

    it("rotates the secret: during the overlap both signatures are sent and either verifies", async () => {
      const path = "/rotate";
      const ep = await subscribe({ url: rx.url(path), patterns: ["posts.created"] });
      const rotated = await t.request(`/api/webhooks/${ep.id}/rotate-secret`, {
        method: "POST",
        headers: admin.headers,
        json: { overlapSeconds: 3600 },
      });
      expect(rotated.status).toBe(200);
      const next = (await rotated.json()) as Endpoint & { previousSecretExpiresAt: string };
      expect(next.secret).not.toBe(ep.secret);
      expect(next.previousSecretExpiresAt).toBeTruthy();
      const user = await t.signIn();
      await post(user, "rotated");
      await until(() => rx.at(path).length >= 1);
      const r = rx.at(path)[0]!;
      expect(r.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
      expect(new Webhook(next.secret).verify(r.body, r.headers)).toBeTruthy();
      expect(new Webhook(ep.secret).verify(r.body, r.headers)).toBeTruthy();
      // Without an overlap, only the new secret signs.
      await t.request(`/api/webhooks/${ep.id}/rotate-secret`, {
        method: "POST",
        headers: admin.headers,
        json: { overlapSeconds: 0 },
      });
      await t.request(`/api/webhooks/${ep.id}`, { method: "DELETE", headers: admin.headers });
    });

    it("caps in-flight deliveries per endpoint, and a hanging receiver does not hold up others", async () => {
      const slow = "/slow";
      const fast = "/fast";
      rx.set((r) => (r.path === slow ? "hang" : 204));
      const a = await subscribe({
        url: rx.url(slow),
        patterns: ["posts.created"],
        maxConcurrency: 2,
        timeoutMs: 30_000,
      });
      const b = await subscribe({ url: rx.url(fast), patterns: ["posts.created"] });
      const user = await t.signIn();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await post(user, `cap ${i}`));
      t.platform.dispatcher.start();
      t.platform.dispatcher.wake();
      await rx.until(() => rx.at(fast).length >= 5 && rx.held >= 2);
      // Every event reached the healthy receiver while two requests hang at the slow one.
      expect(new Set(rx.at(fast).map((r) => bodyOf(r).data.id))).toEqual(new Set(ids));
      const inFlight = await t.client.execute({
        sql: "SELECT count(*) AS n FROM nb_webhook_deliveries WHERE endpoint_id = ? AND status = 'delivering'",
        args: [a.id],
      });
      expect(Number(inFlight.rows[0]!.n)).toBe(2);
      expect(await claimDue(t.platform.delivery, 10)).toEqual([]);
      expect(rx.at(slow).length).toBe(2);
      rx.set(() => 204);
      rx.release();
      await rx.until(() => rx.at(slow).length >= 5);
      await t.platform.dispatcher.stop();
      expect(new Set(rx.at(slow).map((r) => bodyOf(r).data.id))).toEqual(new Set(ids));
      void b;
    });
  });
});

describe("webhooks survive a crash (state lives in libSQL)", () => {
  it("a write committed while no dispatcher ran, and a delivery claimed by a process that died, both arrive after a restart", async () => {
    const t = await createTestApp({ env: webhookEnv });
    const rx = await startReceiver();
    try {
      const admin = await t.signIn("admin");
      const res = await t.request("/api/webhooks", {
        method: "POST",
        headers: admin.headers,
        json: { url: rx.url("/crash"), patterns: ["posts.created"] },
      });
      const ep = (await res.json()) as Endpoint;
      const user = await t.signIn();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await t.request("/api/collections/posts/records", {
          method: "POST",
          headers: user.headers,
          json: { title: `crash ${i}` },
        });
        ids.push(((await r.json()) as { id: string }).id);
      }
      // The "old process" fans out and claims one delivery, then dies before attempting it.
      await fanOut(t.platform.delivery);
      const claimed = await claimDue(t.platform.delivery, 1);
      expect(claimed.length).toBe(1);

      // A new process on the same database file: a fresh platform and dispatcher.
      const restarted = createNodePlatform(t.config, {
        database: { client: t.client },
        log: t.log,
        env: {},
      });
      await dispatchOnce(restarted.delivery);
      // Two arrive at once; the abandoned claim waits out its lease (timeout + slack), then arrives.
      expect(rx.at("/crash").length).toBe(2);
      const later = { ...restarted.delivery, now: () => Date.now() + 10 * 60_000 };
      await dispatchOnce(later);
      const got = rx.at("/crash").map((r) => JSON.parse(r.body) as { data: { id: string } });
      expect(new Set(got.map((b) => b.data.id))).toEqual(new Set(ids));
      expect(got.length).toBe(3);
      void ep;
    } finally {
      await rx.close();
      await t.close();
    }
  });
});
