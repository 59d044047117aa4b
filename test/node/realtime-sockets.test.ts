import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import { freshDatabase, type Instance, listen, startInstance } from "./realtime-helpers";

/**
 * The Node home's connection lifecycle over real sockets: refused WebSockets are HTTP problems
 * before the upgrade (the same codes as the Workers home), the server's pings drop dead peers,
 * and the idle and lifetime timeouts close streams (short settings here; clients reconnect and
 * resume). Waits are on messages and socket events, bounded by the test timeout.
 */

interface Answer {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** A raw WebSocket handshake: what the server answers (101, or a refusal with its body). */
function handshake(base: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": randomBytes(16).toString("base64"),
        ...headers,
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, contentType: undefined, body: "" });
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, contentType: res.headers["content-type"], body }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

function problemCode(answer: Answer) {
  expect(answer.contentType).toMatch(/^application\/problem\+json/);
  return (JSON.parse(answer.body) as { code: string }).code;
}

/** Waits until `test` holds, checking every 20 ms (for server-side state with no event). */
async function until(test: () => boolean) {
  while (!test()) await new Promise((r) => setTimeout(r, 20));
}

describe("realtime sockets (Node home)", { timeout: 30_000 }, () => {
  let db: ReturnType<typeof freshDatabase>;
  let node: Instance;
  beforeAll(async () => {
    db = freshDatabase();
    node = await startInstance(db.url, {
      REALTIME_MAX_CONNECTIONS_PER_USER: "1",
      REALTIME_HEARTBEAT_SECONDS: "1",
    });
  });
  afterAll(async () => {
    await node.close();
    db.remove();
  });

  it("refuses a WebSocket before the upgrade, as the problem the Workers home answers", async () => {
    const alice = await node.signIn();
    const before = node.hub.size;

    const unknown = await handshake(node.base, "/api/realtime?topic=nope");
    expect(unknown.status).toBe(404);
    expect(problemCode(unknown)).toBe("UNKNOWN_COLLECTION");

    const forged = await handshake(node.base, "/api/realtime?topic=posts", {
      "sec-websocket-protocol": "nearbase.v1, bearer.not-a-token",
    });
    expect(forged.status).toBe(401);
    expect(problemCode(forged)).toBe("UNAUTHENTICATED");

    // The per-user cap (1 here): one stream open, the socket is a 429 problem.
    const open = listen(node.base, ["posts"], { token: () => alice.token });
    await open.open;
    const capped = await handshake(node.base, "/api/realtime?topic=posts", {
      "sec-websocket-protocol": `nearbase.v1, bearer.${alice.token}`,
    });
    expect(capped.status).toBe(429);
    expect(problemCode(capped)).toBe("RATE_LIMITED");
    open.close();
    await until(() => node.hub.size === before);

    // A token whose session ended (log-out): still a valid JWT, refused by the hub's check.
    const bob = await node.signIn();
    const out = await node.request("/api/auth/logout", { method: "POST", headers: bob.headers });
    expect(out.status).toBeLessThan(300);
    const ended = await handshake(node.base, "/api/realtime?topic=posts", bob.headers);
    expect(ended.status).toBe(401);
    expect(problemCode(ended)).toBe("UNAUTHENTICATED");

    // Nothing refused holds a place; an accepted socket still upgrades.
    expect(node.hub.size).toBe(before);
    const carol = await node.signIn();
    expect((await handshake(node.base, "/api/realtime?topic=posts", carol.headers)).status).toBe(
      101,
    );
    // Its client hung up at once: the place is freed.
    await until(() => node.hub.size === before);
  });

  it("pings every heartbeat and drops a peer that stops answering; a live one stays", async () => {
    const url = `${node.base.replace("http", "ws")}/api/realtime?topic=posts`;
    const before = node.hub.size;
    const live = new WsClient(url, ["nearbase.v1"]);
    // A dead peer as the server sees one: it never answers a ping.
    const dead = new WsClient(url, ["nearbase.v1"], { autoPong: false });
    let pings = 0;
    live.on("ping", () => pings++);
    const deadClosed = new Promise<number>((r) => dead.on("close", (code) => r(code)));
    await Promise.all(
      [live, dead].map((ws) => new Promise((r) => ws.once("message", r))), // `connected`
    );
    await until(() => node.hub.size === before + 2);
    // Dropped within two heartbeats (1 s here), without a closing handshake: 1006.
    expect(await deadClosed).toBe(1006);
    await until(() => node.hub.size === before + 1);
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(live.readyState).toBe(WsClient.OPEN);
    live.close();
    await until(() => node.hub.size === before);
  });

  it("closes a stream that stays idle (idle timeout), and the client comes back", async () => {
    const idle = await startInstance(db.url, { REALTIME_IDLE_TIMEOUT_SECONDS: "1" });
    try {
      const alice = await idle.signIn();
      for (const transport of ["sse", "websocket"] as const) {
        const l = listen(idle.base, ["posts"], { transport, token: () => alice.token });
        const first = await l.open;
        await l.until(() => l.closings.includes("idle"));
        // It reconnects as a new stream and still receives.
        await l.until(() => l.conn.clientId !== undefined && l.conn.clientId !== first);
        const res = await idle.request("/api/collections/posts/records", {
          method: "POST",
          headers: alice.headers,
          json: { title: "after idle", status: "draft" },
        });
        const { id } = (await res.json()) as { id: string };
        await l.got(id, "create");
        l.close();
      }
    } finally {
      await idle.close();
    }
  });

  it("a stream that receives changes is not idle", async () => {
    const idle = await startInstance(db.url, { REALTIME_IDLE_TIMEOUT_SECONDS: "2" });
    try {
      const alice = await idle.signIn();
      const l = listen(idle.base, ["posts"], { token: () => alice.token });
      await l.open;
      const started = Date.now();
      while (Date.now() - started < 3500) {
        await idle.request("/api/collections/posts/records", {
          method: "POST",
          headers: alice.headers,
          json: { title: "keep alive", status: "draft" },
        });
        await new Promise((r) => setTimeout(r, 400));
      }
      expect(l.changes.length).toBeGreaterThanOrEqual(5);
      expect(l.closings).toEqual([]);
      l.close();
    } finally {
      await idle.close();
    }
  });

  it("closes every stream at its maximum lifetime, however busy; the client resumes with nothing lost", async () => {
    const short = await startInstance(db.url, { REALTIME_MAX_LIFETIME_SECONDS: "2" });
    try {
      const alice = await short.signIn();
      const l = listen(short.base, ["posts"], { token: () => alice.token });
      const first = await l.open;
      const ids: string[] = [];
      // Writes keep it busy (never idle) across its lifetime and the reconnect after it.
      while (!l.closings.includes("lifetime") || l.conn.clientId === first) {
        const res = await short.request("/api/collections/posts/records", {
          method: "POST",
          headers: alice.headers,
          json: { title: "busy", status: "draft" },
        });
        ids.push(((await res.json()) as { id: string }).id);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(l.closings).toContain("lifetime");
      await l.got(ids.at(-1)!, "create");
      // Every write arrived exactly once, in order, across the close and the resume.
      expect(l.changes.map((c) => c.record.id)).toEqual(ids);
      l.close();
    } finally {
      await short.close();
    }
  });
});
