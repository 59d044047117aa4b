import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { loadAuthConfig } from "../../src/core/accounts/config";
import { accessTokenFor } from "../../src/core/accounts/sessions";
import { ownerKey } from "../../src/core/realtime/protocol";
import worker from "../../src/platform/workers/main";
import { createWorkersPlatform } from "../../src/platform/workers/platform";
import { type RealtimeShard, shardOf } from "../../src/platform/workers/realtime";
import type { Home, SignedIn } from "../conformance/home";
import { makeWorkersHome } from "../conformance/workers-home";

interface Message {
  event: string;
  id?: string;
  data: Record<string, unknown> & { record?: { id: string } };
}

/** Reads SSE messages from a stream until `until` holds for what has arrived. */
function sseReader(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const messages: Message[] = [];
  let buffer = "";
  return {
    messages,
    async until(test: (all: Message[]) => boolean) {
      while (!test(messages)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`stream ended: ${JSON.stringify(messages)}`);
        buffer += value;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const m: Partial<Message> = {};
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) m.event = line.slice(7);
            else if (line.startsWith("id: ")) m.id = line.slice(4);
            else if (line.startsWith("data: ")) m.data = JSON.parse(line.slice(6));
          }
          if (m.event !== undefined) messages.push(m as Message);
          end = buffer.indexOf("\n\n");
        }
      }
    },
    cancel: () => reader.cancel(),
  };
}

const changeOf = (id: string, action: string) => (all: Message[]) =>
  all.some((m) => m.event === "change" && m.data.record?.id === id && m.data.action === action);

/**
 * Realtime in workerd: the real worker, its RealtimeShard Durable Objects (WebSocket Hibernation
 * API) and the local libSQL server. A write pokes the shards (waitUntil); each reads the outbox
 * and delivers over the SSE bridge or the client's own WebSocket.
 */
describe("realtime in workerd (Durable Object shards, hibernation API)", () => {
  let home: Home;
  let alice: SignedIn;
  const shards = loadConfig(env as unknown as Record<string, unknown>, "workers").realtime.shards;
  beforeAll(async () => {
    home = await makeWorkersHome();
    alice = await home.signIn();
  });
  afterAll(() => home.close());

  /**
   * A WebSocket upgrade through the worker's own fetch handler: not through `home.request`,
   * whose contract check reads every response's body and cannot clone a 101 handshake.
   */
  async function upgrade(path: string, headers: Record<string, string> = {}) {
    const request = new Request(new URL(path, "https://nearbase.test"), {
      headers: { ...headers, upgrade: "websocket", "cf-connecting-ip": "192.0.2.77" },
    });
    return worker.fetch(
      request as Parameters<typeof worker.fetch>[0],
      env as Env,
      createExecutionContext(),
    );
  }

  async function post(status: string) {
    const res = await home.request("/api/collections/posts/records", {
      method: "POST",
      headers: alice.headers,
      json: { title: "rt", status },
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  it("SSE in the worker, bridged to the shard: subscribe → write → receive, rules per subscriber", async () => {
    const mine = await home.request("/api/realtime?topic=posts", { headers: alice.headers });
    expect(mine.status).toBe(200);
    expect(mine.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const anon = await home.request("/api/realtime?topic=posts");
    const a = sseReader(mine);
    const b = sseReader(anon);
    await a.until((all) => all.some((m) => m.event === "connected"));
    await b.until((all) => all.some((m) => m.event === "connected"));

    // The shard holds the socket through the Hibernation API (getWebSockets lists only those).
    const shard = env.REALTIME.get(
      env.REALTIME.idFromName(
        `shard-${shardOf(ownerKey({ kind: "user", id: alice.id, role: "user" }, ""), shards)}`,
      ),
    );
    const held = await runInDurableObject(
      shard,
      (_instance, state) => state.getWebSockets().length,
    );
    expect(held).toBeGreaterThanOrEqual(1);

    const draft = await post("draft");
    const published = await post("published");
    await home.settle();
    await a.until(changeOf(draft, "create"));
    await a.until(changeOf(published, "create"));
    await b.until(changeOf(published, "create"));
    expect(changeOf(draft, "create")(b.messages)).toBe(false);
    const change = a.messages.find((m) => changeOf(published, "create")([m]))!;
    expect(change.id).toMatch(/^evt_/);
    expect(change.data.record).not.toHaveProperty("moderationNote");
    await a.cancel();
    await b.cancel();
  });

  it("a WebSocket goes to the shard directly and resumes from `since`", async () => {
    const first = await post("published");
    const [event] = await home.sql(
      "SELECT id FROM nb_events WHERE record_id = ? AND type = 'posts.created'",
      [first],
    );
    const missed = await post("published");
    const res = await upgrade(`/api/realtime?topic=posts&since=${event!.id}`, alice.headers);
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const frames: Record<string, unknown>[] = [];
    const waiters: (() => void)[] = [];
    ws.addEventListener("message", (e) => {
      frames.push(e.data === "pong" ? { type: "pong" } : JSON.parse(String(e.data)));
      for (const w of waiters.splice(0)) w();
    });
    const until = async (test: () => boolean) => {
      while (!test()) await new Promise<void>((r) => waiters.push(r));
    };
    const has = (id: string) => () =>
      frames.some((f) => f.type === "change" && (f.record as { id: string }).id === id);
    await until(has(missed));
    expect(has(first)()).toBe(false);
    const live = await post("draft");
    await home.settle();
    await until(has(live));
    ws.send("ping");
    await until(() => frames.some((f) => f.type === "pong"));
    ws.close();
  });

  it("a browser WebSocket carries its token as a subprotocol (no header, nothing in the URL)", async () => {
    const res = await upgrade("/api/realtime?topic=posts", {
      "sec-websocket-protocol": `nearbase.v1, bearer.${alice.accessToken}`,
    });
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-protocol")).toBe("nearbase.v1");
    const ws = res.webSocket!;
    ws.accept();
    const frames: Record<string, unknown>[] = [];
    const waiters: (() => void)[] = [];
    ws.addEventListener("message", (e) => {
      frames.push(JSON.parse(String(e.data)));
      for (const w of waiters.splice(0)) w();
    });
    const until = async (test: () => boolean) => {
      while (!test()) await new Promise<void>((r) => waiters.push(r));
    };
    await until(() => frames.some((f) => f.type === "connected"));
    // A draft reaches only its author: this socket is alice's.
    const draft = await post("draft");
    await home.settle();
    await until(() =>
      frames.some((f) => f.type === "change" && (f.record as { id: string }).id === draft),
    );
    ws.close();

    const forged = await upgrade("/api/realtime?topic=posts", {
      "sec-websocket-protocol": "nearbase.v1, bearer.not-a-token",
    });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { code: string }).code).toBe("UNAUTHENTICATED");
  });

  it("resumes an SSE stream from Last-Event-ID through the bridge, and says refetch for an unknown id", async () => {
    const first = await post("published");
    const [event] = await home.sql(
      "SELECT id FROM nb_events WHERE record_id = ? AND type = 'posts.created'",
      [first],
    );
    const missed = await post("draft");
    const res = await home.request("/api/realtime?topic=posts", {
      headers: { ...alice.headers, "last-event-id": String(event!.id) },
    });
    expect(res.status).toBe(200);
    const s = sseReader(res);
    await s.until(changeOf(missed, "create"));
    expect(changeOf(first, "create")(s.messages)).toBe(false);
    // Replayed in outbox order, once each; then live.
    const live = await post("published");
    await home.settle();
    await s.until(changeOf(live, "create"));
    const ids = s.messages.filter((m) => m.event === "change").map((m) => m.data.record!.id);
    expect(ids).toEqual([missed, live]);
    await s.cancel();

    const lost = await home.request("/api/realtime?topic=posts", {
      headers: { "last-event-id": "evt_0000000000000unknown" },
    });
    const l = sseReader(lost);
    await l.until((all) => all.some((m) => m.event === "refetch"));
    await l.cancel();
  });

  it("a drop before the first change loses nothing: `connected` names the position, and resuming from it replays the gap (SSE and WebSocket)", async () => {
    const s = sseReader(
      await home.request("/api/realtime?topic=posts", { headers: alice.headers }),
    );
    await s.until((all) => all.some((m) => m.event === "connected"));
    const connected = s.messages.find((m) => m.event === "connected")!;
    // SSE `id:` (EventSource sends it back as Last-Event-ID) and the message carry the position.
    expect(connected.id).toMatch(/^evt_/);
    expect(connected.data.id).toBe(connected.id);
    await s.cancel();
    // The drop: no change has arrived; these are committed while nobody listens.
    const missed = [await post("draft"), await post("published")];
    await home.settle();
    const again = sseReader(
      await home.request("/api/realtime?topic=posts", {
        headers: { ...alice.headers, "last-event-id": connected.id! },
      }),
    );
    for (const id of missed) await again.until(changeOf(id, "create"));
    expect(
      again.messages.filter((m) => m.event === "change").map((m) => m.data.record!.id),
    ).toEqual(missed);
    expect(again.messages.some((m) => m.event === "refetch")).toBe(false);
    // Resuming keeps the position: `connected` names the id it resumed from.
    expect(again.messages.find((m) => m.event === "connected")!.id).toBe(connected.id);
    await again.cancel();

    // The same over a WebSocket: the `connected` message's id is the `since` to resume from.
    const first = await upgrade("/api/realtime?topic=posts", alice.headers);
    const ws = first.webSocket!;
    ws.accept();
    const hello = await new Promise<Record<string, unknown>>((resolve) => {
      ws.addEventListener("message", (e) => resolve(JSON.parse(String(e.data))));
    });
    expect(hello.type).toBe("connected");
    expect(hello.id).toMatch(/^evt_/);
    ws.close();
    const gap = await post("draft");
    await home.settle();
    const resumed = (
      await upgrade(`/api/realtime?topic=posts&since=${String(hello.id)}`, alice.headers)
    ).webSocket!;
    resumed.accept();
    const frames: Record<string, unknown>[] = [];
    await new Promise<void>((resolve) => {
      resumed.addEventListener("message", (e) => {
        frames.push(JSON.parse(String(e.data)));
        if (frames.some((f) => f.type === "change" && (f.record as { id: string }).id === gap))
          resolve();
      });
    });
    expect(frames.filter((f) => f.type === "change").length).toBe(1);
    resumed.close();
  });

  it("a log-out mid-stream ends the stream at the shard; later changes never reach it", async () => {
    const bob = await home.signIn();
    const mine = sseReader(
      await home.request("/api/realtime?topic=posts", { headers: bob.headers }),
    );
    const watcher = sseReader(await home.request("/api/realtime?topic=posts"));
    await mine.until((all) => all.some((m) => m.event === "connected"));
    await watcher.until((all) => all.some((m) => m.event === "connected"));
    const out = await home.request("/api/auth/logout", { method: "POST", headers: bob.headers });
    expect(out.status).toBe(204);
    // A write pokes the shards: each reads session.revoked before the new post.
    const after = await post("published");
    await home.settle();
    await watcher.until(changeOf(after, "create"));
    await mine.until((all) =>
      all.some((m) => m.event === "closing" && m.data.reason === "revoked"),
    );
    expect(changeOf(after, "create")(mine.messages)).toBe(false);
    await watcher.cancel();
    // The same token is refused before any stream opens.
    const again = await home.request("/api/realtime?topic=posts", { headers: bob.headers });
    expect(again.status).toBe(401);
  });

  it("with no write after a log-out, the shard's periodic alarm reads the revocation and ends the stream", async () => {
    const erin = await home.signIn();
    const s = sseReader(await home.request("/api/realtime?topic=posts", { headers: erin.headers }));
    await s.until((all) => all.some((m) => m.event === "connected"));
    const out = await home.request("/api/auth/logout", { method: "POST", headers: erin.headers });
    expect(out.status).toBe(204);
    const shard = env.REALTIME.get(
      env.REALTIME.idFromName(
        `shard-${shardOf(ownerKey({ kind: "user", id: erin.id, role: "user" }, ""), shards)}`,
      ),
    );
    // The alarm is due within REALTIME_AUTH_CHECK_SECONDS while sockets are open; run it now.
    const due = await runInDurableObject(shard, async (instance: RealtimeShard, state) => {
      const at = await state.storage.getAlarm();
      await instance.alarm();
      return at;
    });
    expect(due).not.toBeNull();
    await s.until((all) => all.some((m) => m.event === "closing" && m.data.reason === "revoked"));
  });

  it("the shard's alarm ends a stream when its token expires, and at its lifetime", async () => {
    const config = loadConfig(env as unknown as Record<string, unknown>, "workers");
    const auth = await loadAuthConfig(createWorkersPlatform(config, env as Env), config);
    const carol = await home.signIn();
    const sid = JSON.parse(
      atob(carol.accessToken.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")),
    ).sid as string;
    const short = await accessTokenFor(
      { ...auth, accessTokenTtlSeconds: 2 },
      { id: carol.id, role: "user" },
      sid,
    );
    const expiring = sseReader(
      await home.request("/api/realtime?topic=posts", {
        headers: { authorization: `Bearer ${short}` },
      }),
    );
    await expiring.until((all) =>
      all.some((m) => m.event === "closing" && m.data.reason === "expired"),
    );

    // Lifetime: the socket's attachment says it connected long ago; the alarm closes it.
    const old = sseReader(
      await home.request("/api/realtime?topic=posts", { headers: carol.headers }),
    );
    await old.until((all) => all.some((m) => m.event === "connected"));
    const clientId = old.messages[0]!.data.clientId as string;
    const shard = env.REALTIME.get(
      env.REALTIME.idFromName(
        `shard-${shardOf(ownerKey({ kind: "user", id: carol.id, role: "user" }, ""), shards)}`,
      ),
    );
    await runInDurableObject(shard, async (instance: RealtimeShard, state) => {
      for (const ws of state.getWebSockets()) {
        const a = ws.deserializeAttachment() as { clientId: string; connectedAt: number };
        if (a.clientId === clientId) ws.serializeAttachment({ ...a, connectedAt: 0 });
      }
      await instance.alarm();
    });
    await old.until((all) =>
      all.some((m) => m.event === "closing" && m.data.reason === "lifetime"),
    );
  });

  it("caps a user's connections at the shard: one more is a 429 problem, not a broken stream", async () => {
    const dave = await home.signIn();
    const cap = loadConfig(env as unknown as Record<string, unknown>, "workers").realtime
      .maxPerUser;
    const open = [];
    for (let i = 0; i < cap; i++) {
      const res = await home.request("/api/realtime?topic=posts", { headers: dave.headers });
      expect(res.status).toBe(200);
      const r = sseReader(res);
      await r.until((all) => all.some((m) => m.event === "connected"));
      open.push(r);
    }
    const refused = await home.request("/api/realtime?topic=posts", { headers: dave.headers });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { code: string }).code).toBe("RATE_LIMITED");
    // A WebSocket too: refused before the upgrade, the same problem as the Node home answers.
    const socket = await upgrade("/api/realtime?topic=posts", dave.headers);
    expect(socket.status).toBe(429);
    expect(socket.webSocket).toBeNull();
    expect(((await socket.json()) as { code: string }).code).toBe("RATE_LIMITED");
    for (const r of open) await r.cancel();
  });

  it("refuses bad topics before any stream opens", async () => {
    const res = await home.request("/api/realtime?topic=nope");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe("UNKNOWN_COLLECTION");
  });

  it("refuses a WebSocket before the upgrade with the problems the Node home answers (bad topic, ended session)", async () => {
    const unknown = await upgrade("/api/realtime?topic=nope", alice.headers);
    expect(unknown.status).toBe(404);
    expect(unknown.webSocket).toBeNull();
    expect(((await unknown.json()) as { code: string }).code).toBe("UNKNOWN_COLLECTION");
    const frank = await home.signIn();
    const out = await home.request("/api/auth/logout", { method: "POST", headers: frank.headers });
    expect(out.status).toBe(204);
    const ended = await upgrade("/api/realtime?topic=posts", frank.headers);
    expect(ended.status).toBe(401);
    expect(ended.webSocket).toBeNull();
    expect(((await ended.json()) as { code: string }).code).toBe("UNAUTHENTICATED");
  });
});
