import type { Client } from "@libsql/client";
import { randomId } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import { describeError, type LogSink } from "../kernel/log";
import type { Principal } from "../kernel/principal";
import type { Models } from "../records/model";
import { type Audience, type Delivery, decide } from "./access";
import { eventsAfter, headSeq, type OutboxEvent, positionId, resumePoint } from "./outbox";
import {
  type CloseReason,
  type Credential,
  changeFrame,
  credentialKey,
  liveCredentials,
  ownerKey,
  type RealtimeSettings,
  type Sink,
} from "./protocol";
import type { ParsedSubscription } from "./topics";

export interface HubDeps {
  /** Where the outbox is read (the primary: every instance on one database sees every event). */
  db: Client;
  models: Models;
  settings: RealtimeSettings;
  now(): number;
  log: LogSink;
}

export interface ConnectRequest {
  principal: Principal;
  credential: Credential;
  subs: ParsedSubscription[];
  /** The last event id the client saw (`Last-Event-ID` / `since`). */
  since?: string | undefined;
  address: string;
  sink: Sink;
}

export interface SubscribeRequest {
  clientId: string;
  principal: Principal;
  credential: Credential;
  address: string;
  subs: ParsedSubscription[];
}

interface Connection {
  id: string;
  principal: Principal;
  credential: Credential;
  owner: string;
  subs: ParsedSubscription[];
  sink: Sink;
  connectedAt: number;
  lastActivity: number;
  /** Joined the live tail (its replay, if any, is done). */
  ready: boolean;
  /** The last outbox position sent (so replay and live delivery never send one twice). */
  lastSeq: number;
}

/** What realtime needs from a home: connect a stream, change its subscriptions. */
export interface RealtimeGateway {
  connect(request: ConnectRequest): Promise<string>;
  /** Replaces a connection's subscriptions (and its credential: a refreshed token extends it). */
  subscribe(request: SubscribeRequest): Promise<void>;
  disconnect(clientId: string): void;
}

const batchSize = 500;

/**
 * An in-process realtime hub: it tails the outbox in libSQL by position (so every instance on
 * one database sees every event, whoever wrote it), decides per subscriber with `decide`, and
 * sends frames to each connection's sink. It reads the outbox only while someone is connected:
 * every `pollMs`, and at once when a local write wakes it. Connections resume from an event id
 * within the replay window; their credentials are re-checked every `authCheckMs` (and at once on
 * a `session.revoked` or `api_key.revoked` event), their token expiry, idle time and lifetime
 * every second. Outbox passes and a joining connection's catch-up run one at a time, so a
 * connection joins the live tail exactly where its replay ended: nothing missed, nothing twice.
 */
export function createHub(deps: HubDeps) {
  const { settings } = deps;
  const clients = new Map<string, Connection>();
  let cursor: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sweeper: ReturnType<typeof setInterval> | undefined;
  let lock: Promise<unknown> = Promise.resolve();
  /** A pass waiting for its turn: later wake-ups share it. */
  let queued: Promise<void> | undefined;
  let checkedAt = 0;
  let stopped = false;

  /** Runs `fn` after every earlier exclusive task (passes, joins) has settled. */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = lock.then(fn);
    lock = run.catch(() => {});
    return run;
  }

  /** The tail's position (exclusive callers only): the outbox head when nobody was listening. */
  async function position() {
    cursor ??= await headSeq(deps.db);
    return cursor;
  }

  function schedule(ms: number) {
    if (stopped || clients.size === 0) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void tick().finally(() => schedule(settings.pollMs));
    }, ms);
    timer.unref?.();
  }

  function close(conn: Connection, reason: CloseReason) {
    if (!clients.delete(conn.id)) return;
    try {
      conn.sink.send({ type: "closing", reason });
      conn.sink.close();
    } catch {}
    if (clients.size === 0) idleDown();
  }

  /** Nobody listens: stop reading, and start from the head when someone does. */
  function idleDown() {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (sweeper !== undefined) clearInterval(sweeper);
    sweeper = undefined;
    void exclusive(async () => {
      if (clients.size === 0) cursor = undefined;
    });
  }

  /** Closes connections whose credential no longer holds (one batch for all of them). */
  async function checkCredentials(force = false) {
    const now = deps.now();
    if (!force && now - checkedAt < settings.authCheckMs) return;
    checkedAt = now;
    const conns = [...clients.values()].filter((c) => credentialKey(c.credential) !== undefined);
    if (conns.length === 0) return;
    const live = await liveCredentials(
      deps.db,
      conns.map((c) => c.credential),
      now,
    );
    for (const c of conns) if (!live.has(credentialKey(c.credential)!)) close(c, "revoked");
  }

  function sweep() {
    const now = deps.now();
    for (const c of clients.values()) {
      if (c.credential.expiresAt !== undefined && c.credential.expiresAt <= now)
        close(c, "expired");
      else if (now - c.connectedAt >= settings.maxLifetimeMs) close(c, "lifetime");
      else if (now - c.lastActivity >= settings.idleTimeoutMs) close(c, "idle");
    }
    checkCredentials().catch((err: unknown) =>
      deps.log.write({
        level: "warn",
        msg: "realtime credential check failed",
        error: describeError(err),
      }),
    );
  }

  function send(conn: Connection, d: Delivery) {
    if (d.event.seq <= conn.lastSeq) return;
    conn.lastSeq = d.event.seq;
    conn.lastActivity = deps.now();
    conn.sink.send(changeFrame(d));
  }

  /** Engine events that end streams: a revoked session or API key. */
  function applyEngineEvents(events: readonly OutboxEvent[]) {
    for (const e of events) {
      if (e.type === "session.revoked") {
        for (const c of clients.values())
          if (c.credential.sessionId === e.recordId) close(c, "revoked");
      } else if (e.type === "api_key.revoked") {
        for (const c of clients.values())
          if (c.credential.apiKeyId === e.recordId) close(c, "revoked");
      } else if (e.type === "user.deleted") {
        for (const c of clients.values())
          if (c.credential.userId === e.recordId) close(c, "revoked");
      }
    }
  }

  async function deliver(events: OutboxEvent[]) {
    applyEngineEvents(events);
    // Expired or revoked credentials stop receiving before anything else is sent.
    sweep();
    await checkCredentials();
    const conns = [...clients.values()];
    if (conns.length === 0) return;
    const audience: Audience[] = conns.map((c) => ({ principal: c.principal, subs: c.subs }));
    const decided = await decide(deps.db, deps.models, events, audience);
    conns.forEach((conn, i) => {
      if (!clients.has(conn.id) || !conn.ready) return;
      for (const d of decided[i]!) send(conn, d);
    });
  }

  async function pass() {
    if (cursor === undefined) return;
    for (;;) {
      const events = await eventsAfter(deps.db, cursor, batchSize);
      if (events.length === 0) return;
      await deliver(events);
      cursor = events[events.length - 1]!.seq;
      if (events.length < batchSize) return;
    }
  }

  function tick(): Promise<void> {
    if (queued !== undefined) return queued;
    const run = exclusive(async () => {
      queued = undefined;
      if (stopped) return;
      try {
        await pass();
      } catch (err) {
        deps.log.write({
          level: "error",
          msg: "realtime pass failed",
          error: describeError(err),
        });
      }
    });
    queued = run;
    return run;
  }

  /**
   * Brings a new connection to the tail's position (exclusive: no pass is half-way): `connected`
   * with the position it starts from, its missed events when it resumes (or `refetch`), then
   * it is ready for live deliveries.
   */
  async function join(conn: Connection, since: string | undefined, now: number) {
    const upTo = await position();
    const from =
      since === undefined
        ? undefined
        : await resumePoint(deps.db, since, now - settings.replayWindowMs);
    conn.sink.send({
      type: "connected",
      clientId: conn.id,
      topics: conn.subs.map((s) => s.topic),
      id: from === undefined ? await positionId(deps.db, upTo) : since!,
    });
    if (since !== undefined && from === undefined)
      conn.sink.send({ type: "refetch", reason: "too_old" });
    let at = from ?? upTo;
    conn.lastSeq = at;
    while (at < upTo && clients.has(conn.id)) {
      const events = await eventsAfter(deps.db, at, batchSize, upTo);
      if (events.length === 0) break;
      const [mine] = await decide(deps.db, deps.models, events, [
        { principal: conn.principal, subs: conn.subs },
      ]);
      for (const d of mine!) send(conn, d);
      at = events[events.length - 1]!.seq;
    }
    // A resume id past the tail (another instance's client ahead of this hub) is not replayed twice.
    conn.lastSeq = Math.max(conn.lastSeq, upTo);
    conn.ready = true;
  }

  function countOwned(owner: string) {
    let n = 0;
    for (const c of clients.values()) if (c.owner === owner) n++;
    return n;
  }

  const gateway: RealtimeGateway & {
    wake(): void;
    stop(): Promise<void>;
    readonly size: number;
    readonly settings: RealtimeSettings;
    idle(): Promise<void>;
  } = {
    settings,

    async connect(request) {
      const owner = ownerKey(request.principal, request.address);
      const cap = owner.startsWith("user:") ? settings.maxPerUser : settings.maxPerAddress;
      if (countOwned(owner) >= cap)
        throw new ApiError(
          "RATE_LIMITED",
          `At most ${cap} realtime connections per ${owner.startsWith("user:") ? "user" : "address"}; close one first.`,
        );
      if (credentialKey(request.credential) !== undefined) {
        const live = await liveCredentials(deps.db, [request.credential], deps.now());
        if (!live.has(credentialKey(request.credential)!))
          throw new ApiError("UNAUTHENTICATED", "The session behind this token has ended.");
      }
      const now = deps.now();
      const conn: Connection = {
        id: randomId("rtc"),
        principal: request.principal,
        credential: request.credential,
        owner,
        subs: request.subs,
        sink: request.sink,
        connectedAt: now,
        lastActivity: now,
        ready: false,
        lastSeq: 0,
      };
      clients.set(conn.id, conn);
      sweeper ??= setInterval(sweep, 1000);
      sweeper.unref?.();
      try {
        await exclusive(() => join(conn, request.since, now));
      } catch (err) {
        clients.delete(conn.id);
        if (clients.size === 0) idleDown();
        throw err;
      }
      schedule(settings.pollMs);
      return conn.id;
    },

    async subscribe({ clientId, principal, credential, address, subs }) {
      const conn = clients.get(clientId);
      // Someone else's client id is as unknown as a made-up one.
      if (conn === undefined || conn.owner !== ownerKey(principal, address))
        throw new ApiError("NOT_FOUND", "No open realtime connection with that id.");
      conn.subs = subs;
      conn.principal = principal;
      conn.credential = credential;
      conn.lastActivity = deps.now();
      conn.sink.send({ type: "subscribed", topics: subs.map((s) => s.topic) });
    },

    disconnect(clientId) {
      const conn = clients.get(clientId);
      if (conn === undefined) return;
      clients.delete(clientId);
      if (clients.size === 0) idleDown();
    },

    /** A local write committed: read the outbox now. */
    wake() {
      if (clients.size > 0) schedule(0);
    },

    async stop() {
      stopped = true;
      for (const c of [...clients.values()]) close(c, "shutdown");
      idleDown();
      await lock;
    },

    get size() {
      return clients.size;
    },

    /** Runs a pass now and waits for it (tests, benchmarks). */
    async idle() {
      await tick();
    },
  };
  return gateway;
}

export type Hub = ReturnType<typeof createHub>;
