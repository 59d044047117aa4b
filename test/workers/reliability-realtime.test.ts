import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, inject, it } from "vitest";
import { RealtimeShard } from "../../src/platform/workers/realtime";
import type { Fault } from "../../tools/libsql-server/faults";

/**
 * The realtime shard (a Durable Object with a libSQL client of its own) when its libSQL server
 * hangs (issue #24): its calls are bounded by DATABASE_TIMEOUT_MS like every other libSQL call,
 * so a client connecting meanwhile gets an UNAVAILABLE error frame and a close — not a socket that
 * never starts, nor a shard whose one-at-a-time passes are stuck behind a call that never ends —
 * and the same shard serves again once the server answers. The shard here is the real class on a
 * real Durable Object's state, given bindings that reach the server through the fault proxy
 * (test/workers/reliability-global-setup.ts).
 */
const bindings = {
  ...env,
  DATABASE_URL: inject("faultyLibsqlUrl"),
  DATABASE_TIMEOUT_MS: "1000",
} as Env;

async function fault(f: Fault) {
  const res = await fetch(`${inject("faultControlUrl")}/fault`, {
    method: "POST",
    body: JSON.stringify(f),
  });
  expect(res.status).toBe(200);
}

interface Received {
  type: string;
  code?: string;
  status?: number;
}

/** Connects an anonymous `posts` subscriber straight to the shard; resolves with its first frame and how it closed. */
async function connect(shard: RealtimeShard) {
  const res = await shard.fetch(
    new Request("https://realtime/connect", {
      headers: {
        upgrade: "websocket",
        "x-nearbase-realtime": JSON.stringify({
          principal: { kind: "anonymous" },
          credential: {},
          subs: [{ topic: "posts", collection: "posts" }],
          address: "192.0.2.24",
        }),
      },
    }),
  );
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const first = new Promise<Received>((resolve) =>
    ws.addEventListener("message", (e) => resolve(JSON.parse(String(e.data)) as Received), {
      once: true,
    }),
  );
  const closed = new Promise<number>((resolve) =>
    ws.addEventListener("close", (e) => resolve(e.code)),
  );
  ws.accept();
  return { ws, first, closed };
}

describe("realtime shard on a libSQL server that hangs (Workers home)", () => {
  afterEach(() => fault({ mode: "none" }));

  it("a connect during the hang gets UNAVAILABLE and a close; the same shard serves again after", async () => {
    const ns = (env as unknown as { REALTIME: DurableObjectNamespace }).REALTIME;
    const stub = ns.get(ns.idFromName("reliability-realtime-hang"));
    await runInDurableObject(stub, async (_instance, state) => {
      const shard = new RealtimeShard(state, bindings);
      await fault({ mode: "hang" });
      const during = await connect(shard);
      expect(await during.first).toMatchObject({ type: "error", status: 503, code: "UNAVAILABLE" });
      expect(await during.closed).toBe(1011);
      // An outbox pass during the hang ends too (it is logged; the next poke retries).
      expect(
        (await shard.fetch(new Request("https://realtime/tail", { method: "POST" }))).status,
      ).toBe(204);

      await fault({ mode: "none" });
      const after = await connect(shard);
      expect(await after.first).toMatchObject({ type: "connected" });
      after.ws.close(1000, "done");
    });
  });
});
