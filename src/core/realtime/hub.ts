import type { Client } from "@libsql/client";
import { randomId } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import { describeError, type LogSink } from "../kernel/log";
import type { Principal } from "../kernel/principal";
import type { Models } from "../records/model";
import { type Audience, type Delivery, decide } from "./access";
import { eventsAfter, headSeq, type OutboxEvent, resumePoint } from "./outbox";
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
  /** Replaying missed events: live deliveries wait in `buffer`. */
  ready: boolean;
  buffer: Delivery[];
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
 * every second.
 */
export function createHub(deps: HubDeps) {
  const { settings } = deps;
  const clients = new Map<string, Connection>();
  let cursor: number | undefined;
  let starting: Promise<number> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sweeper: ReturnType<typeof setInterval> | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let checkedAt = 0;
  let stopped = false;

  async function start() {
    if (cursor !== undefined) return cursor;
    starting ??= headSeq(deps.db).then((seq) => {
      cursor ??= seq;
      return cursor;
    });
    try {
      return await starting;
    } finally {
      starting = undefined;
    }
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

  function idleDown() {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (sweeper !== undefined) clearInterval(sweeper);
    sweeper = undefined;
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
      if (!clients.has(conn.id)) return;
      for (const d of decided[i]!) {
        if (conn.ready) send(conn, d);
        else conn.buffer.push(d);
      }
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
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await pass();
        } catch (err) {
          deps.log.write({
            level: "error",
            msg: "realtime pass failed",
            error: describeError(err),
          });
        }
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
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
    idle(): Promise<void>;
  } = {
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
        buffer: [],
        lastSeq: 0,
      };
      clients.set(conn.id, conn);
      sweeper ??= setInterval(sweep, 1000);
      sweeper.unref?.();
      try {
        const upTo = await start();
        conn.sink.send({
          type: "connected",
          clientId: conn.id,
          topics: conn.subs.map((s) => s.topic),
        });
        if (request.since !== undefined) {
          const from = await resumePoint(deps.db, request.since, now - settings.replayWindowMs);
          if (from === undefined) conn.sink.send({ type: "refetch", reason: "too_old" });
          else {
            // Replay what the tail had passed when this connection joined; later events reach
            // it live (buffered meanwhile), and `lastSeq` drops any overlap.
            let at = from;
            conn.lastSeq = from;
            while (at < upTo && clients.has(conn.id)) {
              const events = await eventsAfter(deps.db, at, batchSize, upTo);
              if (events.length === 0) break;
              const [mine] = await decide(deps.db, deps.models, events, [
                { principal: conn.principal, subs: conn.subs },
              ]);
              for (const d of mine!) send(conn, d);
              at = events[events.length - 1]!.seq;
            }
            conn.lastSeq = Math.max(conn.lastSeq, upTo);
          }
        } else conn.lastSeq = upTo;
        conn.ready = true;
        for (const d of conn.buffer.splice(0).sort((a, b) => a.event.seq - b.event.seq))
          send(conn, d);
      } catch (err) {
        clients.delete(conn.id);
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
      await running;
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
