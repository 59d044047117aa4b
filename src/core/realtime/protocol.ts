import type { Client } from "@libsql/client";
import type { Principal } from "../kernel/principal";
import type { Delivery } from "./access";

/** Realtime settings (parsed in src/config.ts). */
export interface RealtimeSettings {
  /** Node home: how often the hub reads the outbox when no local write woke it. */
  pollMs: number;
  /** SSE comment / WebSocket ping interval. */
  heartbeatMs: number;
  /** A connection that received nothing and changed nothing for this long is closed. */
  idleTimeoutMs: number;
  /** Every connection is closed after this long (clients reconnect and resume). */
  maxLifetimeMs: number;
  /** How far back `Last-Event-ID` / `since` may resume; older means "refetch". */
  replayWindowMs: number;
  /** Open connections per user (API keys count for their owner). */
  maxPerUser: number;
  /** Open anonymous connections per client address. */
  maxPerAddress: number;
  /** How often a connection's session or API key is checked again (revocation, erasure). */
  authCheckMs: number;
  /** Workers home: Durable Object shards connections are spread over. */
  shards: number;
}

/** What the stream's credential allows, and until when: re-checked while the stream is open. */
export interface Credential {
  /** The access token's expiry (epoch ms); the stream stops receiving then. */
  expiresAt?: number;
  sessionId?: string;
  apiKeyId?: string;
  userId?: string;
}

export type CloseReason = "expired" | "revoked" | "idle" | "lifetime" | "shutdown" | "slow";

/** Every message a realtime client receives (SSE `event:` is `type`; WebSocket sends the JSON). */
export type Frame =
  | {
      type: "connected";
      clientId: string;
      topics: string[];
      /**
       * The position the stream starts from, as a resume id (SSE `id:` too): a client that drops
       * before its first change resumes from it (`Last-Event-ID` / `since`) and loses nothing.
       */
      id: string;
    }
  | { type: "subscribed"; topics: string[] }
  | {
      type: "change";
      /** The outbox event id: SSE `id:`, `Last-Event-ID` / `since` to resume after it. */
      id: string;
      action: string;
      collection: string;
      record: Record<string, unknown>;
      /** The subscriptions it matched. */
      topics: string[];
    }
  /** Events were missed beyond the replay window: read the data again, then carry on. */
  | { type: "refetch"; reason: "unknown_event" | "too_old" }
  /** The server closes the stream; `expired`/`revoked` need a fresh token before reconnecting. */
  | { type: "closing"; reason: CloseReason }
  /** WebSocket only: a refused connection or message, as the problem's code and detail. */
  | { type: "error"; status: number; code: string; detail: string };

const frames = new WeakMap<Delivery, Frame>();
const texts = new WeakMap<Frame, string>();

/** The change frame of a delivery (one object per shared Delivery: never mutate it). */
export function changeFrame(d: Delivery): Frame {
  let frame = frames.get(d);
  if (frame === undefined) {
    frame = {
      type: "change",
      id: d.event.id,
      action: d.event.action,
      collection: d.event.collection,
      record: d.record,
      topics: d.topics,
    };
    frames.set(d, frame);
  }
  return frame;
}

/** A frame as JSON text, serialised once however many sockets it goes to. */
export function frameText(frame: Frame): string {
  let text = texts.get(frame);
  if (text === undefined) {
    text = JSON.stringify(frame);
    texts.set(frame, text);
  }
  return text;
}

/** Where a connection's messages go (an SSE stream, a WebSocket, a Durable Object bridge). */
export interface Sink {
  send(frame: Frame): void;
  close(): void;
}

/** Who owns a connection for the connection cap: the user (API keys count for their owner) or the address. */
export function ownerKey(principal: Principal, address: string): string {
  if (principal.kind === "user") return `user:${principal.id}`;
  if (principal.kind === "apiKey") return `user:${principal.ownerId}`;
  return `ip:${address}`;
}

/** The credential key `liveCredentials` answers for: a session, an API key, or a bare user. */
export function credentialKey(c: Credential): string | undefined {
  if (c.sessionId !== undefined) return `s:${c.sessionId}`;
  if (c.apiKeyId !== undefined) return `k:${c.apiKeyId}`;
  if (c.userId !== undefined) return `u:${c.userId}`;
  return undefined;
}

/**
 * Which of these credentials still hold (one batch): sessions not revoked or expired, API keys
 * not revoked or expired — both disappear with an erased user — and users that still exist.
 */
export async function liveCredentials(
  db: Client,
  credentials: readonly Credential[],
  nowMs: number,
): Promise<Set<string>> {
  const sessions = new Set<string>();
  const keys = new Set<string>();
  const users = new Set<string>();
  for (const c of credentials) {
    if (c.sessionId !== undefined) sessions.add(c.sessionId);
    else if (c.apiKeyId !== undefined) keys.add(c.apiKeyId);
    else if (c.userId !== undefined) users.add(c.userId);
  }
  const live = new Set<string>();
  const marks = (n: number) => Array.from({ length: n }, () => "?").join(",");
  const statements = [];
  if (sessions.size > 0)
    statements.push({
      prefix: "s:",
      stmt: {
        sql: `SELECT s.id FROM nb_sessions s JOIN nb_users u ON u.id = s.user_id WHERE s.id IN (${marks(sessions.size)}) AND s.revoked_at IS NULL AND s.expires_at > ?`,
        args: [...sessions, nowMs],
      },
    });
  if (keys.size > 0)
    statements.push({
      prefix: "k:",
      stmt: {
        sql: `SELECT k.id FROM nb_api_keys k JOIN nb_users u ON u.id = k.user_id WHERE k.id IN (${marks(keys.size)}) AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?)`,
        args: [...keys, nowMs],
      },
    });
  if (users.size > 0)
    statements.push({
      prefix: "u:",
      stmt: { sql: `SELECT id FROM nb_users WHERE id IN (${marks(users.size)})`, args: [...users] },
    });
  if (statements.length === 0) return live;
  const results = await db.batch(
    statements.map((s) => s.stmt),
    "read",
  );
  statements.forEach((s, i) => {
    for (const row of results[i]!.rows) live.add(`${s.prefix}${String(row.id)}`);
  });
  return live;
}
