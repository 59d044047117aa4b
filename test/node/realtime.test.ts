import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readProblem as read } from "../harness";
import { freshDatabase, type Instance, listen, startInstance } from "./realtime-helpers";

/**
 * Realtime in the Node home, over real HTTP on a real libSQL file: rules per subscriber at the
 * time of the change, hidden fields, deletes, resume, auth on the stream, two instances on one
 * database, WebSockets, subscription changes and refusals. Waits are on messages, not sleeps:
 * a "did not receive" is checked once a later event reached the same client (each client's
 * events arrive in outbox order).
 */
async function readProblem(res: Response, status: number) {
  expect(res.status).toBe(status);
  return read(res);
}

describe("realtime (Node home)", { timeout: 30_000 }, () => {
  let db: ReturnType<typeof freshDatabase>;
  let one: Instance;
  let two: Instance;
  beforeAll(async () => {
    db = freshDatabase();
    one = await startInstance(db.url);
    two = await startInstance(db.url);
  });
  afterAll(async () => {
    await one.close();
    await two.close();
    db.remove();
  });

  async function post(
    as: { headers: Record<string, string> },
    body: Record<string, unknown>,
    on = one,
  ) {
    const res = await on.request("/api/collections/posts/records", {
      method: "POST",
      headers: as.headers,
      json: { title: "t", ...body },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { id: string };
  }
  async function patch(
    as: { headers: Record<string, string> },
    id: string,
    body: Record<string, unknown>,
  ) {
    const res = await one.request(`/api/collections/posts/records/${id}`, {
      method: "PATCH",
      headers: as.headers,
      json: body,
    });
    expect(res.status, await res.clone().text()).toBe(200);
  }
  async function remove(as: { headers: Record<string, string> }, id: string) {
    const res = await one.request(`/api/collections/posts/records/${id}`, {
      method: "DELETE",
      headers: as.headers,
    });
    expect(res.status).toBe(204);
  }

  it("applies each subscriber's view rule at the time of the change; hidden fields never go out; deletes reach only those who saw the record", async () => {
    const alice = await one.signIn();
    const bob = await one.signIn();
    const a = listen(one.base, ["posts"], { token: () => alice.token });
    const b = listen(one.base, ["posts/*"], { token: () => bob.token });
    const anon = listen(one.base, ["posts"]);
    await Promise.all([a.open, b.open, anon.open]);

    const published = await post(alice, { status: "published" });
    const draft = await post(alice, { status: "draft" });
    // A hidden field set behind the API's back: it must never reach a subscriber.
    await one.platform.sql.execute({
      sql: "UPDATE posts SET moderation_note = 'SECRET-NOTE' WHERE id = ?",
      args: [published.id],
    });
    await patch(alice, published.id, { title: "edited" });
    await patch(alice, draft.id, { title: "draft edited" });
    await remove(alice, draft.id);
    const hidden = await post(alice, { status: "published" });
    await patch(alice, hidden.id, { status: "draft" });
    await remove(alice, hidden.id);
    await remove(alice, published.id);

    for (const l of [a, b, anon]) await l.got(published.id, "delete");
    // Published: all three, created, updated, deleted.
    for (const l of [a, b, anon]) {
      expect(l.has(published.id, "create")).toBe(true);
      expect(l.has(published.id, "update")).toBe(true);
    }
    // The draft: only its author, for every change including its deletion.
    expect(a.changes.filter((c) => c.record.id === draft.id).map((c) => c.action)).toEqual([
      "create",
      "update",
      "delete",
    ]);
    expect(b.has(draft.id)).toBe(false);
    expect(anon.has(draft.id)).toBe(false);
    // Unpublished, then deleted: others saw the create, not the change to draft (it failed their
    // rule at that moment) and not the delete (they could not see it before it).
    expect(a.changes.filter((c) => c.record.id === hidden.id).map((c) => c.action)).toEqual([
      "create",
      "update",
      "delete",
    ]);
    for (const l of [b, anon])
      expect(l.changes.filter((c) => c.record.id === hidden.id).map((c) => c.action)).toEqual([
        "create",
      ]);
    for (const l of [a, b, anon]) {
      for (const c of l.changes) {
        expect(c.record).not.toHaveProperty("moderationNote");
        expect(c.record).not.toHaveProperty("rev");
        expect(JSON.stringify(c)).not.toContain("SECRET-NOTE");
        expect(c.id).toMatch(/^evt_/);
        expect(c.topics.length).toBeGreaterThan(0);
      }
      // Event ids are unique per client: nothing arrived twice.
      expect(new Set(l.changes.map((c) => c.id)).size).toBe(l.changes.length);
    }
    for (const l of [a, b, anon]) l.close();
  });

  it("filters subscriptions in memory and through relations (comments' rule follows post)", async () => {
    const alice = await one.signIn();
    const tagged = listen(one.base, [`posts/*?filter=${encodeURIComponent("tags ?= 'rt-x'")}`]);
    const comments = listen(one.base, ["comments"]);
    const viaRelation = listen(one.base, [
      `comments/*?filter=${encodeURIComponent("post.title = 'rel-target'")}`,
    ]);
    await Promise.all([tagged.open, comments.open, viaRelation.open]);
    const plain = await post(alice, { status: "published" });
    const x = await post(alice, { status: "published", tags: ["rt-x"], title: "rel-target" });
    const draft = await post(alice, { status: "draft" });
    const c1 = await (
      await one.request("/api/collections/comments/records", {
        method: "POST",
        headers: alice.headers,
        json: { post: plain.id, body: "on plain" },
      })
    ).json();
    const c2 = await (
      await one.request("/api/collections/comments/records", {
        method: "POST",
        headers: alice.headers,
        json: { post: x.id, body: "on x" },
      })
    ).json();
    // A comment on a draft can't be created through the API (create rule); make one in SQL and
    // delete it through the author: anonymous subscribers could never see it.
    await one.platform.sql.execute({
      sql: "INSERT INTO comments (id, created, updated, post, author, body) VALUES ('cmt_rtdraft1', 'x', 'x', ?, ?, 'hidden')",
      args: [draft.id, alice.id],
    });
    await (
      await one.request("/api/collections/comments/records/cmt_rtdraft1", {
        method: "DELETE",
        headers: alice.headers,
      })
    ).body?.cancel();
    const last = await post(alice, { status: "published", tags: ["rt-x"] });
    await tagged.got(last.id, "create");
    expect(tagged.has(x.id)).toBe(true);
    expect(tagged.has(plain.id)).toBe(false);
    await comments.got((c2 as { id: string }).id, "create");
    expect(comments.has((c1 as { id: string }).id)).toBe(true);
    await viaRelation.got((c2 as { id: string }).id, "create");
    expect(viaRelation.has((c1 as { id: string }).id)).toBe(false);
    // The draft's comment: the rule (post.status = 'published') failed for anonymous.
    const marker = await (
      await one.request("/api/collections/comments/records", {
        method: "POST",
        headers: alice.headers,
        json: { post: plain.id, body: "marker" },
      })
    ).json();
    await comments.got((marker as { id: string }).id, "create");
    expect(comments.has("cmt_rtdraft1")).toBe(false);
    for (const l of [tagged, comments, viaRelation]) l.close();
  });

  it("resumes after a drop from Last-Event-ID with no event lost or repeated", async () => {
    const alice = await one.signIn();
    let gate: Promise<void> = Promise.resolve();
    let release!: () => void;
    const streams: AbortController[] = [];
    const l = listen(one.base, ["posts"], {
      token: () => alice.token,
      fetch: async (input, init) => {
        await gate;
        const ctl = new AbortController();
        init?.signal?.addEventListener("abort", () => ctl.abort());
        streams.push(ctl);
        return fetch(input, { ...init, signal: ctl.signal });
      },
    });
    await l.open;
    const first = await post(alice, { status: "draft" });
    await l.got(first.id, "create");
    // Drop the stream and hold the reconnect until three more writes committed.
    gate = new Promise((r) => {
      release = r;
    });
    streams.at(-1)!.abort();
    const missed = [];
    for (let i = 0; i < 3; i++) missed.push(await post(alice, { status: "draft" }));
    release();
    const after = await post(alice, { status: "draft" });
    await l.got(after.id, "create");
    const ids = l.changes.map((c) => c.record.id);
    expect(ids).toEqual([first.id, ...missed.map((m) => m.id), after.id]);
    expect(streams.length).toBeGreaterThanOrEqual(2);
    l.close();
  });

  for (const transport of ["sse", "websocket"] as const)
    it(`a drop before the first change loses nothing: the client resumes from the position \`connected\` named (${transport})`, async () => {
      const alice = await one.signIn();
      let gate: Promise<void> = Promise.resolve();
      let release!: () => void;
      const drops: (() => void)[] = [];
      // Every connect asks for the token first: holding it holds the reconnect.
      const token = async () => {
        await gate;
        return alice.token;
      };
      const l = listen(one.base, ["posts"], {
        transport,
        token,
        fetch: async (input, init) => {
          const ctl = new AbortController();
          init?.signal?.addEventListener("abort", () => ctl.abort());
          drops.push(() => ctl.abort());
          return fetch(input, { ...init, signal: ctl.signal });
        },
        WebSocket: class extends WebSocket {
          constructor(url: string, protocols?: string | string[]) {
            super(url, protocols);
            drops.push(() => this.close());
          }
        },
      });
      await l.open;
      // No change yet, but the stream named where it starts.
      const start = l.conn.lastEventId;
      expect(start).toMatch(/^evt_/);
      gate = new Promise((r) => {
        release = r;
      });
      drops.at(-1)!();
      const missed = [];
      for (let i = 0; i < 3; i++) missed.push(await post(alice, { status: "draft" }));
      release();
      const after = await post(alice, { status: "draft" });
      await l.got(after.id, "create");
      expect(drops.length).toBeGreaterThanOrEqual(2);
      expect(l.changes.map((c) => c.record.id)).toEqual([...missed.map((m) => m.id), after.id]);
      expect(l.refetches).toBe(0);
      l.close();
    });

  it("the connected position of an empty outbox resumes from its start; the window counts only what was missed", async () => {
    const empty = freshDatabase();
    const solo = await startInstance(empty.url);
    try {
      const raw = await solo.request("/api/realtime?topic=posts");
      const reader = raw.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n\n")) text += (await reader.read()).value ?? "";
      await reader.cancel();
      // SSE carries it as `id:` (what EventSource sends back as Last-Event-ID) and in the data.
      expect(text).toMatch(/^id: evt_0\nevent: connected\ndata: \{.*"id":"evt_0"/);
      const alice = await solo.signIn();
      const created = await (
        await solo.request("/api/collections/posts/records", {
          method: "POST",
          headers: alice.headers,
          json: { title: "t", status: "published" },
        })
      ).json();
      const l = listen(solo.base, ["posts"], { lastEventId: "evt_0" });
      await l.got((created as { id: string }).id, "create");
      l.close();
      // An old resume id with nothing missed since is no refetch.
      const [latest] = (
        await solo.platform.sql.execute("SELECT id FROM nb_events ORDER BY rowid DESC LIMIT 1")
      ).rows;
      await solo.platform.sql.execute("UPDATE nb_events SET occurred_at = 0");
      const quiet = listen(solo.base, ["posts"], { lastEventId: String(latest!.id) });
      await quiet.open;
      const marker = listen(solo.base, ["posts"], { lastEventId: "evt_0" });
      await marker.until(() => marker.refetches === 1);
      expect(quiet.refetches).toBe(0);
      expect(quiet.conn.lastEventId).toBe(String(latest!.id));
      quiet.close();
      marker.close();
    } finally {
      await solo.close();
      empty.remove();
    }
  });

  it("the client takes a silent stream for dead, reconnects and resumes (heartbeat watchdog)", async () => {
    const alice = await one.signIn();
    let calls = 0;
    let silent = false;
    const l = listen(one.base, ["posts"], {
      token: () => alice.token,
      heartbeatTimeoutMs: 400,
      // The first stream goes silent on demand, as a half-open connection does: bytes stop
      // arriving and nothing closes it.
      fetch: async (input, init) => {
        calls++;
        const res = await fetch(input, init);
        if (calls > 1 || res.body === null) return res;
        const reader = res.body.getReader();
        const body = new ReadableStream<Uint8Array>({
          async pull(ctl) {
            const { done, value } = await reader.read();
            if (done) return ctl.close();
            if (!silent) ctl.enqueue(value);
          },
          cancel: () => reader.cancel(),
        });
        return new Response(body, { status: res.status, headers: res.headers });
      },
    });
    await l.open;
    const before = await post(alice, { status: "draft" });
    await l.got(before.id, "create");
    silent = true;
    const during = await post(alice, { status: "draft" });
    await l.got(during.id, "create");
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(l.changes.map((c) => c.record.id)).toEqual([before.id, during.id]);
    l.close();
  });

  it("says refetch when the resume point is unknown or older than the replay window", async () => {
    const l = listen(one.base, ["posts"], { lastEventId: "evt_0000000000000unknown" });
    await l.until(() => l.refetches === 1);
    l.close();
  });

  it("stops a stream at once when its session is revoked mid-stream (log-out)", async () => {
    const alice = await one.signIn();
    const watcher = listen(one.base, ["posts"]);
    const a = listen(one.base, ["posts"], { token: () => alice.token });
    await Promise.all([a.open, watcher.open]);
    const before = await post(alice, { status: "published" });
    await a.got(before.id, "create");
    const out = await one.request("/api/auth/logout", { method: "POST", headers: alice.headers });
    expect(out.status).toBeLessThan(300);
    await a.until(() => a.closings.includes("revoked"));
    // The client tries again with the same token: refused (the session has ended).
    await a.until(() => a.errors.length > 0);
    expect(a.errors[0]!.status).toBe(401);
    const afterwards = await post(await one.signIn(), { status: "published" });
    await watcher.got(afterwards.id, "create");
    expect(a.has(afterwards.id)).toBe(false);
    a.close();
    watcher.close();
  });

  it("stops a stream whose credentials were revoked without an event (sign-out everywhere), at the next check", async () => {
    const alice = await one.signIn();
    const a = listen(one.base, ["posts"], { token: () => alice.token });
    await a.open;
    await one.revokeAll(alice.id);
    await a.until(() => a.closings.includes("revoked"));
    await a.until(() => a.errors.length > 0);
    expect(a.errors[0]!.code).toBe("UNAUTHENTICATED");
    a.close();
  });

  it("stops a stream when its access token expires", async () => {
    const alice = await one.signIn();
    const short = await alice.shortToken(2);
    const watcher = listen(one.base, ["posts"]);
    const a = listen(one.base, ["posts"], { token: () => short });
    await Promise.all([a.open, watcher.open]);
    await a.until(() => a.closings.includes("expired"));
    await a.until(() => a.errors.length > 0);
    expect(a.errors[0]!.status).toBe(401);
    const later = await post(alice, { status: "published" });
    await watcher.got(later.id, "create");
    expect(a.has(later.id)).toBe(false);
    a.close();
    watcher.close();
  });

  it("two instances on one database both deliver a write made through either", async () => {
    const alice = await one.signIn();
    const onOne = listen(one.base, ["posts"]);
    const onTwo = listen(two.base, ["posts"]);
    await Promise.all([onOne.open, onTwo.open]);
    const viaOne = await post(alice, { status: "published" }, one);
    const viaTwo = await post(alice, { status: "published" }, two);
    for (const l of [onOne, onTwo]) {
      await l.got(viaOne.id, "create");
      await l.got(viaTwo.id, "create");
    }
    onOne.close();
    onTwo.close();
  });

  it("changes subscriptions without reconnecting (one record topic)", async () => {
    const alice = await one.signIn();
    const target = await post(alice, { status: "published" });
    const other = await post(alice, { status: "published" });
    const l = listen(one.base, ["comments"], { token: () => alice.token });
    const clientId = await l.open;
    await l.conn.setTopics([`posts/${target.id}`]);
    await patch(alice, other.id, { title: "not this one" });
    await patch(alice, target.id, { title: "this one" });
    await l.got(target.id, "update");
    expect(l.has(other.id)).toBe(false);
    expect(l.conn.clientId).toBe(clientId);
    // Someone else cannot change this stream.
    const bob = await one.signIn();
    const res = await one.request(`/api/realtime/${clientId}/subscriptions`, {
      method: "POST",
      headers: bob.headers,
      json: { topics: ["posts"] },
    });
    expect((await readProblem(res, 404)).code).toBe("NOT_FOUND");
    l.close();
  });

  it("carries the same over WebSocket, with since-resume and ping", async () => {
    const alice = await one.signIn();
    const first = await post(alice, { status: "published" });
    const missed = await post(alice, { status: "published" });
    // Resume from `first`: `missed` is replayed, then live changes follow.
    const firstEvent = (
      await one.platform.sql.execute({
        sql: "SELECT id FROM nb_events WHERE record_id = ? AND type = 'posts.created'",
        args: [first.id],
      })
    ).rows[0]!.id as string;
    const l = listen(one.base, ["posts"], {
      transport: "websocket",
      token: () => alice.token,
      lastEventId: firstEvent,
    });
    await l.open;
    await l.got(missed.id, "create");
    expect(l.has(first.id)).toBe(false);
    const live = await post(alice, { status: "draft" });
    await l.got(live.id, "create");
    const ws = new WebSocket(`${one.base.replace("http", "ws")}/api/realtime?topic=posts`);
    const pong = new Promise((r) => {
      ws.addEventListener("message", (e: MessageEvent) => {
        if (e.data === "pong") r(e.data);
      });
    });
    await new Promise((r) => {
      ws.addEventListener("open", r);
    });
    ws.send("ping");
    expect(await pong).toBe("pong");
    ws.close();
    l.close();
  });

  it("refuses bad topics, filters and requests with problems", async () => {
    const cases: [string, number, string][] = [
      ["/api/realtime?topic=nope", 404, "UNKNOWN_COLLECTION"],
      ["/api/realtime?topic=posts/not-an-id!", 400, "INVALID_QUERY"],
      [
        `/api/realtime?topic=${encodeURIComponent("posts/*?filter=moderationNote = 'x'")}`,
        400,
        "INVALID_FILTER",
      ],
      [
        `/api/realtime?topic=${encodeURIComponent("posts/*?filter=title = ")}`,
        400,
        "INVALID_FILTER",
      ],
      [`/api/realtime?topic=${encodeURIComponent("posts/*?sort=x")}`, 400, "INVALID_QUERY"],
      ["/api/realtime?topic=posts&page=2", 400, "INVALID_QUERY"],
    ];
    for (const [path, status, code] of cases) {
      const res = await one.request(path);
      expect((await readProblem(res, status)).code, path).toBe(code);
    }
    const res = await one.request("/api/realtime/rtc_nobody/subscriptions", {
      method: "POST",
      json: { topics: ["posts"] },
    });
    expect((await readProblem(res, 404)).code).toBe("NOT_FOUND");
    const bad = await one.request("/api/realtime/rtc_nobody/subscriptions", {
      method: "POST",
      json: { topics: "posts" },
    });
    expect((await readProblem(bad, 400)).code).toBe("VALIDATION_FAILED");
  });

  it("caps connections per user", async () => {
    const capped = await startInstance(db.url, { REALTIME_MAX_CONNECTIONS_PER_USER: "2" });
    try {
      const alice = await capped.signIn();
      const a1 = listen(capped.base, ["posts"], { token: () => alice.token });
      const a2 = listen(capped.base, ["posts"], { token: () => alice.token });
      await Promise.all([a1.open, a2.open]);
      const res = await capped.request("/api/realtime?topic=posts", { headers: alice.headers });
      expect((await readProblem(res, 429)).code).toBe("RATE_LIMITED");
      a1.close();
      a2.close();
    } finally {
      await capped.close();
    }
  });
});
