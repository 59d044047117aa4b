import { DurableObject } from "cloudflare:workers";
import { type Client, createClient } from "@libsql/client/web";
import { collections } from "../../collections/index";
import { type Config, loadConfig } from "../../config";
import { fetchWithTimeout } from "../../core/db/unavailable";
import { randomId } from "../../core/kernel/crypto";
import { ApiError, type ErrorCode, errorStatus } from "../../core/kernel/errors";
import { describeError, jsonLogger, type LogSink } from "../../core/kernel/log";
import type { Principal } from "../../core/kernel/principal";
import { decide } from "../../core/realtime/access";
import type { RealtimeGateway } from "../../core/realtime/hub";
import {
  eventsAfter,
  headSeq,
  type OutboxEvent,
  positionId,
  resumePoint,
} from "../../core/realtime/outbox";
import {
  type CloseReason,
  type Credential,
  changeFrame,
  credentialKey,
  type Frame,
  frameText,
  liveCredentials,
  ownerKey,
} from "../../core/realtime/protocol";
import { errorFrame, readSocketMessage } from "../../core/realtime/socket";
import { checkSubscriptions, type Subscription } from "../../core/realtime/topics";
import { buildModels, type Models } from "../../core/records/model";
import {
  type RealtimeHome,
  realtimeSubprotocol,
  type StreamRequest,
} from "../../http/routes/realtime";

/**
 * Realtime in the Workers home. Connections live in Durable Objects (`RealtimeShard`), spread over
 * REALTIME_SHARDS shards by owner (a user's connections, or an address's anonymous ones, share a
 * shard: the per-owner cap is exact, and a subscription change finds its connection). Each shard
 * accepts WebSockets with the Hibernation API, so an idle connection costs nothing; a shard is
 * woken by a poke (after a local write, from the events queue consumer, and from the cron sweep),
 * reads the outbox in libSQL after its own stored position and delivers. WebSocket clients are
 * handed to the shard directly; SSE is terminated in the worker, bridged to the shard over a
 * WebSocket.
 */

/** What the worker tells a shard about a new connection (an internal header: never from clients). */
interface ConnectInfo {
  principal: Principal;
  credential: Credential;
  subs: Subscription[];
  since?: string | undefined;
  address: string;
}

/** What a shard keeps with each accepted socket (survives hibernation; at most 2 KiB). */
interface Attachment {
  clientId: string;
  principal: Principal;
  credential: Credential;
  owner: string;
  subs: Subscription[];
  connectedAt: number;
  lastActivity: number;
  lastSeq: number;
  /** Replaying: the tail leaves this socket alone until the replay caught up. */
  ready: boolean;
}

const connectHeader = "x-nearbase-realtime";
/** Outbox rows read per query. */
const batchSize = 500;
const attachmentLimit = 2048;

/** FNV-1a: the shard of an owner. */
export function shardOf(owner: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < owner.length; i++) {
    h ^= owner.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

function namespace(env: Env): DurableObjectNamespace | undefined {
  return (env as unknown as { REALTIME?: DurableObjectNamespace }).REALTIME;
}

function shardStub(env: Env, index: number) {
  const ns = namespace(env);
  if (ns === undefined)
    throw new ApiError("UNAVAILABLE", "Realtime is not configured (no REALTIME binding).");
  return ns.get(ns.idFromName(`shard-${index}`));
}

/** Pokes every shard to read the outbox (queue consumer, cron, and after local writes). */
export async function pokeShards(env: Env, shards: number): Promise<void> {
  if (namespace(env) === undefined) return;
  await Promise.all(
    Array.from({ length: shards }, (_, i) =>
      shardStub(env, i)
        .fetch("https://realtime/tail", { method: "POST" })
        .then((r) => r.body?.cancel()),
    ),
  );
}

function problemOf(frame: Frame): ApiError {
  const f = frame as { code?: string; detail?: string };
  const code = (f.code ?? "INTERNAL") as ErrorCode;
  return new ApiError(code in errorStatus ? code : "INTERNAL", f.detail);
}

/**
 * The worker side: SSE streams bridged to their shard over a WebSocket, WebSockets handed over
 * to the shard, subscription changes forwarded, and pokes after writes.
 */
export function workersRealtime(env: Env, config: Config): RealtimeHome {
  const shards = config.realtime.shards;
  const stubFor = (principal: Principal, address: string) =>
    shardStub(env, shardOf(ownerKey(principal, address), shards));
  const connectInit = (
    request: Omit<StreamRequest, "since"> & { since?: string | undefined },
  ): RequestInit => ({
    headers: {
      upgrade: "websocket",
      [connectHeader]: JSON.stringify({
        principal: request.principal,
        credential: request.credential,
        subs: request.subs.map(({ topic, collection, recordId, filter }) => ({
          topic,
          collection,
          ...(recordId === undefined ? {} : { recordId }),
          ...(filter === undefined ? {} : { filter }),
        })),
        since: request.since,
        address: request.address,
      } satisfies ConnectInfo),
    },
  });
  const bridges = new Map<string, WebSocket>();
  /** The shard's socket for a new connection, or its refusal (caps, a revoked session) as a problem. */
  const openAtShard = async (
    request: Omit<StreamRequest, "since"> & { since?: string | undefined },
  ) => {
    const res = await stubFor(request.principal, request.address).fetch(
      "https://realtime/connect",
      connectInit(request),
    );
    if (res.webSocket !== null) return res.webSocket;
    const body = (await res.json().catch(() => ({}))) as Frame;
    throw problemOf(body);
  };

  const gateway: RealtimeGateway = {
    async connect(request) {
      const ws = await openAtShard(request);
      ws.accept();
      return new Promise<string>((resolve, reject) => {
        let clientId: string | undefined;
        ws.addEventListener("message", (event) => {
          const frame = JSON.parse(String(event.data)) as Frame;
          if (clientId === undefined) {
            if (frame.type === "error") return reject(problemOf(frame));
            if (frame.type === "connected") {
              clientId = frame.clientId;
              bridges.set(clientId, ws);
              resolve(clientId);
            }
          }
          request.sink.send(frame);
        });
        ws.addEventListener("close", () => {
          if (clientId === undefined) reject(new ApiError("UNAVAILABLE", "The stream closed."));
          else bridges.delete(clientId);
          request.sink.close();
        });
      });
    },
    async subscribe(request) {
      const res = await stubFor(request.principal, request.address).fetch(
        "https://realtime/subscribe",
        {
          method: "POST",
          body: JSON.stringify({
            clientId: request.clientId,
            principal: request.principal,
            credential: request.credential,
            address: request.address,
            subs: request.subs.map(({ topic, collection, recordId, filter }) => ({
              topic,
              collection,
              recordId,
              filter,
            })),
          }),
        },
      );
      if (!res.ok) throw problemOf((await res.json()) as Frame);
    },
    disconnect(clientId) {
      const ws = bridges.get(clientId);
      bridges.delete(clientId);
      try {
        ws?.close(1000, "client gone");
      } catch {}
    },
  };

  return {
    gateway: () => gateway,
    // The client's own WebSocket goes to the shard: it hibernates there between events.
    async websocket(c, request) {
      // A fresh 101: the stub's response has immutable headers, and the middleware on the way
      // out (rate-limit fields, request id) sets some. A browser that offered our subprotocol
      // (its token rides in another) must get it back, or it drops the connection.
      const offered = (c.req.header("sec-websocket-protocol") ?? "")
        .split(",")
        .map((p) => p.trim());
      return new Response(null, {
        status: 101,
        webSocket: await openAtShard(request),
        headers: offered.includes(realtimeSubprotocol)
          ? { "sec-websocket-protocol": realtimeSubprotocol }
          : {},
      });
    },
    wake(c) {
      const work = pokeShards(env, shards).catch(() => {});
      try {
        c.executionCtx.waitUntil(work);
      } catch {}
    },
  };
}

/**
 * One realtime shard: the WebSocket Hibernation API (`ctx.acceptWebSocket`), each socket's state
 * in its attachment, the outbox position in storage. Pings are answered by the runtime without
 * waking it (`setWebSocketAutoResponse`); an alarm closes connections at their token expiry,
 * idle timeout or lifetime. Outbox passes and the catch-up of a joining socket run one at a time
 * (`exclusive`), so a socket joins the live tail exactly where its replay ended: nothing missed,
 * nothing sent twice.
 */
export class RealtimeShard extends DurableObject<Env> {
  private config: Config;
  private models: Models;
  private db: Client;
  private log: LogSink;
  private cursor: number | undefined;
  private checkedAt = 0;
  private lock: Promise<unknown> = Promise.resolve();
  /** A pass waiting for its turn: later pokes share it. */
  private queued: Promise<void> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = loadConfig(env as unknown as Record<string, unknown>, "workers");
    this.models = buildModels(collections);
    this.db = createClient({
      url: this.config.databaseUrl,
      authToken: this.config.databaseAuthToken,
      concurrency: Number.MAX_SAFE_INTEGER,
      // Bounded like every other libSQL call: a hung server must not hold the shard's passes
      // (they run one at a time) or a joining socket forever.
      fetch: fetchWithTimeout(this.config.databaseTimeoutMs),
    });
    this.log = jsonLogger(this.config.logLevel, (line) => console.log(line));
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** A socket's state; undefined for one accepted by an older version without one. */
  private attachment(ws: WebSocket): Attachment | undefined {
    return (ws.deserializeAttachment() as Attachment | null) ?? undefined;
  }

  private save(ws: WebSocket, a: Attachment) {
    ws.serializeAttachment(a);
  }

  private send(ws: WebSocket, frame: Frame) {
    try {
      ws.send(frameText(frame));
    } catch {}
  }

  private close(ws: WebSocket, reason: CloseReason) {
    this.send(ws, { type: "closing", reason });
    try {
      ws.close(1000, reason);
    } catch {}
  }

  /** Runs `fn` after every earlier exclusive task has settled. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => {});
    return run;
  }

  private async position(): Promise<number> {
    if (this.cursor !== undefined) return this.cursor;
    const stored = await this.ctx.storage.get<number>("cursor");
    this.cursor = stored ?? (await headSeq(this.db));
    return this.cursor;
  }

  private async moveTo(seq: number) {
    this.cursor = seq;
    await this.ctx.storage.put("cursor", seq);
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/connect") return await this.open(request);
      if (url.pathname === "/subscribe") return await this.subscribe(request);
      if (url.pathname === "/tail") {
        await this.tail();
        return new Response(null, { status: 204 });
      }
      return new Response(null, { status: 404 });
    } catch (err) {
      const frame = errorFrame(err);
      return Response.json(frame, { status: (frame as { status: number }).status });
    }
  }

  /**
   * A new connection: refusals (bad subscriptions, the owner's cap, an ended session) are
   * answered before the upgrade, as problems; an accepted socket gets `connected`, then its
   * missed events (from `since`), then joins the live tail.
   */
  private async open(request: Request): Promise<Response> {
    const info = JSON.parse(request.headers.get(connectHeader) ?? "null") as ConnectInfo | null;
    if (info === null || request.headers.get("upgrade")?.toLowerCase() !== "websocket")
      throw new ApiError("BAD_REQUEST", "A realtime connection is a WebSocket upgrade.");
    checkSubscriptions(this.models, info.principal, info.subs);
    const owner = ownerKey(info.principal, info.address);
    const cap = owner.startsWith("user:")
      ? this.config.realtime.maxPerUser
      : this.config.realtime.maxPerAddress;
    const now = Date.now();
    if (credentialKey(info.credential) !== undefined) {
      const live = await liveCredentials(this.db, [info.credential], now);
      if (!live.has(credentialKey(info.credential)!))
        throw new ApiError("UNAUTHENTICATED", "The session behind this token has ended.");
    }
    const a: Attachment = {
      clientId: randomId("rtc"),
      principal: info.principal,
      credential: info.credential,
      owner,
      subs: info.subs,
      connectedAt: now,
      lastActivity: now,
      lastSeq: 0,
      ready: false,
    };
    if (JSON.stringify(a).length > attachmentLimit)
      throw new ApiError(
        "INVALID_QUERY",
        "These subscriptions are too long for one connection here; use fewer or shorter filters.",
      );
    // No await from this count to the accept: the cap holds under concurrent connects.
    const owned = this.ctx.getWebSockets().filter((ws) => this.attachment(ws)?.owner === owner);
    if (owned.length >= cap)
      throw new ApiError(
        "RATE_LIMITED",
        `At most ${cap} realtime connections per ${owner.startsWith("user:") ? "user" : "address"}; close one first.`,
      );
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    this.save(server, a);
    try {
      await this.exclusive(() => this.join(server, a.clientId, info.since, now));
      await this.scheduleAlarm();
    } catch (err) {
      this.send(server, errorFrame(err));
      try {
        server.close(1011, "failed");
      } catch {}
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * Brings a socket up to the tail's position and marks it ready: `connected` with the position
   * it starts from (a resume id), then its missed events from `since` within the replay window
   * (else a refetch message). Runs exclusively: no pass is half-way meanwhile.
   */
  private async join(ws: WebSocket, clientId: string, since: string | undefined, now: number) {
    const others = this.ctx
      .getWebSockets()
      .some((s) => this.attachment(s)?.ready === true && this.attachment(s)?.clientId !== clientId);
    // Nobody else relies on the position: a stored one may be stale (no pass since the last
    // socket left), so start from the head.
    if (!others) await this.moveTo(await headSeq(this.db));
    const upTo = await this.position();
    const a = this.attachment(ws);
    if (a === undefined) return;
    const from =
      since === undefined
        ? undefined
        : await resumePoint(this.db, since, now - this.config.realtime.replayWindowMs);
    this.send(ws, {
      type: "connected",
      clientId,
      topics: a.subs.map((s) => s.topic),
      id: from === undefined ? await positionId(this.db, upTo) : since!,
    });
    if (since !== undefined) {
      if (from === undefined) this.send(ws, { type: "refetch", reason: "too_old" });
      else {
        const subs = checkSubscriptions(this.models, a.principal, a.subs);
        let at = from;
        while (at < upTo) {
          const events = await eventsAfter(this.db, at, batchSize, upTo);
          if (events.length === 0) break;
          const [mine] = await decide(this.db, this.models, events, [
            { principal: a.principal, subs },
          ]);
          for (const d of mine!) this.send(ws, changeFrame(d));
          at = events[events.length - 1]!.seq;
        }
      }
    }
    // Read again: a subscription change may have landed during the replay.
    const current = this.attachment(ws);
    if (current === undefined) return;
    // A resume id past this shard's position (from another shard) is not sent twice.
    this.save(ws, { ...current, ready: true, lastSeq: Math.max(upTo, from ?? upTo) });
  }

  private async subscribe(request: Request): Promise<Response> {
    const body = (await request.json()) as ConnectInfo & { clientId: string };
    const subs = checkSubscriptions(this.models, body.principal, body.subs);
    const owner = ownerKey(body.principal, body.address);
    const ws = this.ctx.getWebSockets().find((s) => this.attachment(s)?.clientId === body.clientId);
    const a = ws === undefined ? undefined : this.attachment(ws);
    if (ws === undefined || a === undefined || a.owner !== owner)
      throw new ApiError("NOT_FOUND", "No open realtime connection with that id.");
    a.subs = body.subs;
    a.principal = body.principal;
    a.credential = body.credential;
    a.lastActivity = Date.now();
    this.save(ws, a);
    this.send(ws, { type: "subscribed", topics: subs.map((s) => s.topic) });
    await this.scheduleAlarm();
    return Response.json({ ok: true });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    const a = this.attachment(ws);
    if (a === undefined) return;
    const command = readSocketMessage(message, this.models, a.principal);
    if (command.kind === "ping") return ws.send("pong");
    if (command.kind === "invalid") return this.send(ws, command.frame);
    a.subs = command.subs.map(({ topic, collection, recordId, filter }) => ({
      topic,
      collection,
      ...(recordId === undefined ? {} : { recordId }),
      ...(filter === undefined ? {} : { filter }),
    }));
    a.lastActivity = Date.now();
    this.save(ws, a);
    this.send(ws, { type: "subscribed", topics: command.subs.map((s) => s.topic) });
  }

  override async webSocketClose(ws: WebSocket, code: number) {
    try {
      ws.close(code === 1005 ? 1000 : code, "closed");
    } catch {}
  }

  /** Closes what is due (expiry, idle, lifetime) and sets the alarm for the next deadline. */
  override async alarm() {
    this.sweep();
    // Revocations no write poked this shard about (log-out, sign-out everywhere, erasure) are in
    // the outbox: read it, then check the credentials that are due, so such streams end within
    // REALTIME_AUTH_CHECK_SECONDS even on a quiet database.
    await this.tail();
    await this.exclusive(async () => {
      const live = this.ctx
        .getWebSockets()
        .map((ws) => ({ ws, a: this.attachment(ws) }))
        .filter((e): e is { ws: WebSocket; a: Attachment } => e.a?.ready === true);
      await this.checkCredentials(live);
    });
    await this.scheduleAlarm();
  }

  /** Closes sockets whose session, API key or user is gone (one batch), at most every authCheckMs. */
  private async checkCredentials(entries: { ws: WebSocket; a: Attachment }[]) {
    const now = Date.now();
    if (now - this.checkedAt < this.config.realtime.authCheckMs) return;
    this.checkedAt = now;
    const withCredential = entries.filter(
      ({ ws, a }) => ws.readyState === WebSocket.OPEN && credentialKey(a.credential) !== undefined,
    );
    if (withCredential.length === 0) return;
    const ok = await liveCredentials(
      this.db,
      withCredential.map(({ a }) => a.credential),
      now,
    );
    for (const { ws, a } of withCredential)
      if (!ok.has(credentialKey(a.credential)!)) this.close(ws, "revoked");
  }

  private sweep() {
    const now = Date.now();
    const { idleTimeoutMs, maxLifetimeMs } = this.config.realtime;
    for (const ws of this.ctx.getWebSockets()) {
      const a = this.attachment(ws);
      if (a === undefined) continue;
      if (a.credential.expiresAt !== undefined && a.credential.expiresAt <= now)
        this.close(ws, "expired");
      else if (now - a.connectedAt >= maxLifetimeMs) this.close(ws, "lifetime");
      else if (now - a.lastActivity >= idleTimeoutMs) this.close(ws, "idle");
    }
  }

  private async scheduleAlarm() {
    const { idleTimeoutMs, maxLifetimeMs, authCheckMs } = this.config.realtime;
    let next = Number.POSITIVE_INFINITY;
    for (const ws of this.ctx.getWebSockets()) {
      const a = this.attachment(ws);
      if (a === undefined) continue;
      next = Math.min(
        Date.now() + authCheckMs,
        next,
        a.credential.expiresAt ?? Number.POSITIVE_INFINITY,
        a.connectedAt + maxLifetimeMs,
        a.lastActivity + idleTimeoutMs,
      );
    }
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(Math.max(next, Date.now() + 10));
  }

  /** Reads the outbox after this shard's position and delivers to its ready sockets. */
  tail(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const run = this.exclusive(async () => {
      this.queued = undefined;
      try {
        await this.pass();
      } catch (err) {
        this.log.write({
          level: "error",
          msg: "realtime shard pass failed",
          error: describeError(err),
        });
      }
    });
    this.queued = run;
    return run;
  }

  private async pass() {
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) {
      // Nobody listens: start from the head when someone does.
      if (this.cursor !== undefined) {
        this.cursor = undefined;
        await this.ctx.storage.delete("cursor");
      }
      return;
    }
    let cursor = await this.position();
    for (;;) {
      const events = await eventsAfter(this.db, cursor, batchSize);
      if (events.length === 0) break;
      await this.deliver(events);
      cursor = events[events.length - 1]!.seq;
      await this.moveTo(cursor);
      if (events.length < batchSize) break;
    }
  }

  private async deliver(events: OutboxEvent[]) {
    this.sweep();
    const now = Date.now();
    const entries = this.ctx
      .getWebSockets()
      .map((ws) => ({ ws, a: this.attachment(ws) }))
      .filter((e): e is { ws: WebSocket; a: Attachment } => e.a?.ready === true);
    for (const e of events) {
      for (const { ws, a } of entries) {
        const c = a.credential;
        if (
          (e.type === "session.revoked" && c.sessionId === e.recordId) ||
          (e.type === "api_key.revoked" && c.apiKeyId === e.recordId) ||
          (e.type === "user.deleted" && c.userId === e.recordId)
        )
          this.close(ws, "revoked");
      }
    }
    await this.checkCredentials(entries);
    const live = entries.filter(({ ws }) => ws.readyState === WebSocket.OPEN);
    if (live.length === 0) return;
    const audience = live.map(({ a }) => ({
      principal: a.principal,
      subs: checkSubscriptions(this.models, a.principal, a.subs),
    }));
    const decided = await decide(this.db, this.models, events, audience);
    const last = events[events.length - 1]!.seq;
    live.forEach(({ ws }, i) => {
      // Read again: a subscription change during `decide` must not be written over.
      const a = this.attachment(ws);
      if (a === undefined || ws.readyState !== WebSocket.OPEN) return;
      let sent = false;
      for (const d of decided[i]!) {
        if (d.event.seq <= a.lastSeq) continue;
        this.send(ws, changeFrame(d));
        sent = true;
      }
      if (sent) a.lastActivity = now;
      a.lastSeq = Math.max(a.lastSeq, last);
      this.save(ws, a);
    });
  }
}
