import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLease, runJobs, standardJobs } from "../../src/core/events/jobs";
import { randomId } from "../../src/core/kernel/crypto";
import { createTestApp, type TestApp } from "../harness";

describe("scheduled jobs (lease rows in libSQL)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_SECRET_KEY: "k".repeat(40) } });
  });
  afterAll(() => t.close());

  it("one lease per job: a second runner is refused until it expires", async () => {
    const name = `job-${randomId("x")}`;
    const now = Date.now();
    expect(await acquireLease(t.client, name, now, 1000, "a")).toBe(true);
    expect(await acquireLease(t.client, name, now + 10, 1000, "b")).toBe(false);
    const both = await Promise.all([
      acquireLease(t.client, name, now + 2000, 1000, "c"),
      acquireLease(t.client, name, now + 2000, 1000, "d"),
    ]);
    expect(both.filter(Boolean)).toHaveLength(1);
  });

  it("runs each job once when two runners start together; cleans expired rows and old logs", async () => {
    const user = await t.signIn();
    const now = Date.now();
    const old = now - 3 * 86_400_000;
    await t.client.batch(
      [
        {
          sql: "INSERT INTO nb_rate_limits (key, tat, allowed) VALUES (?, ?, 1)",
          args: [`t:${randomId("x")}`, old],
        },
        {
          sql: "INSERT INTO nb_sessions (id, user_id, created, last_used, expires_at) VALUES (?, ?, '', '', ?)",
          args: [randomId("ses"), user.id, old],
        },
        {
          sql: "INSERT INTO nb_one_time_tokens (hash, user_id, purpose, expires_at) VALUES (?, ?, 'password_reset', ?)",
          args: [randomId("h"), user.id, old],
        },
        {
          sql: "INSERT INTO nb_events (id, type, collection, record_id, actor, occurred_at, data, dispatched_at) VALUES (?, 'posts.created', 'posts', 'pst_x', 'anonymous', ?, '{}', ?)",
          args: [`evt_${randomId("x")}`, now - 40 * 86_400_000, now - 40 * 86_400_000],
        },
      ],
      "write",
    );
    const jobs = standardJobs(t.platform.delivery);
    const [a, b] = await Promise.all([
      runJobs(t.client, jobs, { now: () => now, log: t.log }),
      runJobs(t.client, jobs, { now: () => now, log: t.log }),
    ]);
    for (const name of ["outbox-sweep", "expired-credentials", "delivery-log-pruning"]) {
      expect(
        [a[name], b[name]].filter((r) => r === "skipped"),
        name,
      ).toHaveLength(1);
    }
    const ran = (name: string) =>
      (a[name] === "skipped" ? b[name] : a[name]) as Record<string, number>;
    expect(ran("expired-credentials").rateLimits).toBeGreaterThanOrEqual(1);
    expect(ran("expired-credentials").sessions).toBeGreaterThanOrEqual(1);
    expect(ran("expired-credentials").oneTimeTokens).toBeGreaterThanOrEqual(1);
    expect(ran("delivery-log-pruning").events).toBeGreaterThanOrEqual(1);
    // The user's live session (from signIn) is untouched.
    const live = await t.client.execute({
      sql: "SELECT count(*) AS n FROM nb_sessions WHERE user_id = ?",
      args: [user.id],
    });
    expect(Number(live.rows[0]!.n)).toBe(1);
  });
});
