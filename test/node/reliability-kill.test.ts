import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, describe, expect, it } from "vitest";
import {
  loadTestEnv,
  logIn,
  type NodeHome,
  signUp,
  sleep,
  startNodeHome,
} from "../../bench/soak/lib";
import { createPost, Ledger, reconcile } from "../../bench/soak/reconcile";
import { testKeys } from "../harness";
import { startReceiver } from "./webhook-receiver";

/**
 * Nothing lost (issue #24): a real Node home under a load of acknowledged writes is killed with
 * SIGKILL (no graceful shutdown, no flush), restarted on the same file, and what the clients
 * were told is reconciled against the database and the webhook receiver — which was itself down
 * (answering 503) for the first part of the run, so deliveries also had to be retried.
 */

const dir = mkdtempSync(join(tmpdir(), "nearbase-kill-"));
const homes: NodeHome[] = [];
afterAll(async () => {
  for (const h of homes) await h.stop("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("SIGKILL mid-load (Node home, embedded file)", () => {
  it("every acknowledged write survives with its outbox event, unanswered ones are all-or-nothing, every event is delivered", async () => {
    const receiver = await startReceiver();
    // The receiver is down first: deliveries fail and are retried.
    receiver.set(() => 503);
    const dbPath = join(dir, "kill.db");
    const env = {
      ...loadTestEnv,
      DATABASE_URL: `file:${dbPath}`,
      JWT_PRIVATE_KEYS: await testKeys(),
      DATA_KEYS_FILE: join(dir, "keys.json"),
    };
    let home = await startNodeHome(env);
    homes.push(home);

    // An admin makes a webhook endpoint for posts.created (promoted in the database, as
    // `npm run admin:create` would).
    const admin = await signUp(home.base, "admin@example.com");
    const db = createClient({ url: `file:${dbPath}` });
    await db.execute({
      sql: "UPDATE nb_users SET role = 'admin' WHERE id = ?",
      args: [admin.userId],
    });
    const adminToken = (await logIn(home.base, admin.email, admin.password)).accessToken;
    const endpoint = await fetch(`${home.base}/api/webhooks`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({
        url: receiver.url("/kill"),
        patterns: ["posts.created"],
        timeoutMs: 1000,
      }),
    });
    expect(endpoint.status, await endpoint.clone().text()).toBe(201);
    const writer = await signUp(home.base, "writer@example.com");

    // Load: 16 concurrent writers, until the kill.
    const ledger = new Ledger();
    const prefix = `kill-${Date.now()}-`;
    let seq = 0;
    let killed = false;
    const load = Array.from({ length: 16 }, async () => {
      while (!killed) await createPost(home.base, writer.accessToken, `${prefix}${seq++}`, ledger);
    });
    while (ledger.count("acked") < 150) await sleep(20);
    receiver.set(() => 204); // the receiver comes back while the server is still up
    await sleep(300);
    home.child.kill("SIGKILL");
    expect(await home.exited).toBe("SIGKILL");
    killed = true;
    await Promise.all(load);

    // Restart on the same file and port; the dispatcher resumes from the outbox.
    home = await startNodeHome(env, { port: home.port });
    homes.push(home);
    const eventIds = async () =>
      (await db.execute("SELECT id FROM nb_events WHERE type = 'posts.created'")).rows.map((r) =>
        String(r.id),
      );
    const delivered = () => new Set(receiver.at("/kill").map((r) => r.headers["webhook-id"]!));
    // A delivery claimed at the moment of the kill is retried once its claim expires
    // (endpoint timeout + 30 s), so this can take about half a minute.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const want = await eventIds();
      const got = delivered();
      if (want.every((id) => got.has(id))) break;
      if (Date.now() > deadline) break;
      await sleep(250);
    }

    // The receiver's outage was felt: more attempts arrived than distinct events (503s retried).
    expect(receiver.at("/kill").length).toBeGreaterThan(delivered().size);
    const result = await reconcile(db, ledger, prefix, delivered());
    db.close();
    await receiver.close();
    console.log(
      "SIGKILL reconciliation",
      JSON.stringify({ ...result, undelivered: result.undelivered.length }),
    );
    expect(result.acked).toBeGreaterThanOrEqual(150);
    expect(result.lostAcked).toEqual([]);
    expect(result.appliedRefused).toEqual([]);
    expect(result.recordWithoutEvent).toEqual([]);
    expect(result.eventWithoutRecord).toEqual([]);
    expect(result.undelivered).toEqual([]);
    expect(result.ok).toBe(true);
    // The writes the kill cut off were answered by nothing (the connection dropped): each is
    // accounted for as applied or absent.
    expect(result.unknownApplied + result.unknownAbsent).toBe(result.unknown);
  }, 240_000);
});
