import { type Context, Hono } from "hono";
import { decodeJwt } from "jose";
import * as z from "zod/mini";
import { ApiError } from "../../core/kernel/errors";
import type { Principal } from "../../core/kernel/principal";
import type { RealtimeGateway } from "../../core/realtime/hub";
import {
  type Credential,
  type Frame,
  frameText,
  type RealtimeSettings,
} from "../../core/realtime/protocol";
import {
  checkSubscriptions,
  type ParsedSubscription,
  parseTopic,
} from "../../core/realtime/topics";
import { readJsonObject } from "../body";
import type { AppEnv } from "../context";
import { jsonSchema, openApiPaths, type RouteDocs } from "../route-docs";

/** What a stream is opened with, once the request is understood (both transports, both homes). */
export interface StreamRequest {
  principal: Principal;
  credential: Credential;
  subs: ParsedSubscription[];
  since: string | undefined;
  address: string;
}

/**
 * Realtime as a home provides it: a gateway (the Node hub in process; in Workers a bridge to the
 * Durable Object shard), and a WebSocket upgrade where the home has one.
 */
export interface RealtimeHome {
  gateway(c: Context<AppEnv>): RealtimeGateway;
  websocket?(c: Context<AppEnv>, request: StreamRequest): Response | Promise<Response>;
  /** A local write committed: read the outbox now (Node: the hub; Workers: poke the shards). */
  wake?(c: Context<AppEnv>): void;
}

const subscribeInput = z.strictObject({
  topics: z
    .array(z.string().check(z.minLength(1), z.maxLength(2500)))
    .check(
      z.maxLength(50),
      z.describe(
        "`posts` or `posts/*` (every record), `posts/*?filter=<url-encoded filter>`, `posts/<id>`",
      ),
    ),
});

const frameDoc = () =>
  z.object({
    type: z.enum(["connected", "subscribed", "change", "refetch", "closing"]),
    clientId: z.optional(z.string()),
    id: z.optional(z.string()),
    action: z.optional(z.enum(["create", "update", "delete"])),
    collection: z.optional(z.string()),
    record: z.optional(z.record(z.string(), z.unknown())),
    topics: z.optional(z.array(z.string())),
    reason: z.optional(z.string()),
  });

const tags = ["realtime"];
const docs = () =>
  ({
    "get /": {
      tags,
      summary: "Live changes: Server-Sent Events (or a WebSocket upgrade) for subscribed topics",
      description: [
        "Topics (repeat `topic`): `posts` or `posts/*` (every record of a collection), `posts/*?filter=<url-encoded filter>` (the filter language), `posts/<id>` (one record).",
        "An event reaches a subscriber only if the record passes the collection's view rule for that subscriber and the topic's filter at the time of the change; hidden fields never appear; a delete is announced only to subscribers who could see the record before it.",
        "SSE events: `connected` (first, with `clientId`, and `id`: the position the stream starts from, to resume from if it drops before its first change), `change` (`id` is the event id, `action` create/update/delete, `record`, `topics`), `subscribed`, `refetch` (missed events are older than the replay window: read again), `closing` (`reason`: expired, revoked, idle, lifetime, shutdown). Comment lines are heartbeats.",
        'Resume with `Last-Event-ID` (or `since`, also for WebSockets). A bearer token authenticates the stream; it stops when the token expires or the session is revoked. With `Upgrade: websocket` the same messages arrive as JSON text frames; send `ping` (answered `pong`) and `{"type":"subscribe","topics":[…]}`. Browsers, which cannot set headers on a WebSocket, offer the subprotocols `nearbase.v1` and `bearer.<access token>`; the server answers `nearbase.v1`.',
      ].join("\n\n"),
      parameters: [
        {
          name: "topic",
          in: "query",
          required: false,
          schema: { type: "array", items: { type: "string" } },
          style: "form",
          explode: true,
        },
        { name: "since", in: "query", required: false, schema: { type: "string" } },
        { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } },
      ],
      responses: {
        "200": {
          description: "An event stream (`text/event-stream`) of JSON messages",
          content: {
            "text/event-stream": {
              schema: { type: "string" },
              "x-message-schema": jsonSchema(frameDoc(), "output"),
            },
          },
        },
        "101": { description: "Switched to a WebSocket (with `Upgrade: websocket`)" },
      },
      raises: ["INVALID_QUERY", "INVALID_FILTER", "UNKNOWN_COLLECTION", "UNAVAILABLE"],
    },
    "post /:clientId/subscriptions": {
      tags,
      summary: "Replace an open stream's subscriptions without reconnecting",
      description:
        "The caller must be the stream's owner (same user, or the same address when anonymous). A fresh access token sent here also extends the stream past the old token's expiry.",
      body: subscribeInput,
      responses: {
        "200": {
          description: "Subscriptions replaced",
          schema: z.object({ clientId: z.string(), topics: z.array(z.string()) }),
        },
      },
      raises: ["NOT_FOUND", "INVALID_QUERY", "INVALID_FILTER", "UNKNOWN_COLLECTION"],
    },
  }) satisfies RouteDocs;

/** OpenAPI paths of the realtime routes (mounted at /api/realtime). */
export function realtimePaths() {
  return openApiPaths("/api/realtime", docs());
}

/**
 * The WebSocket subprotocol a client names first (browsers cannot set Authorization on a
 * WebSocket): `new WebSocket(url, ["nearbase.v1", "bearer." + token])`. The server answers with
 * `nearbase.v1`; the token never appears in a URL (URLs end up in logs).
 */
export const realtimeSubprotocol = "nearbase.v1";

function subprotocolToken(c: Context<AppEnv>): string | undefined {
  const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  return offered.find((p) => p.startsWith("bearer."))?.slice("bearer.".length) || undefined;
}

/** The principal of a browser WebSocket that carries its token as a subprotocol. */
async function subprotocolPrincipal(c: Context<AppEnv>, token: string): Promise<Principal> {
  const { accounts } = c.get("services");
  const ip = c.get("platform").clientIp(c);
  try {
    return await accounts.authenticate(
      { authorization: `Bearer ${token}`, apiKey: undefined },
      ip,
      {
        defer: (work) => c.get("platform").defer(c, work),
      },
    );
  } catch (err) {
    await accounts.countRejected(err, ip);
    throw err;
  }
}

/** What the caller's credential allows and until when (the token was verified by `authenticate`). */
function credentialOf(c: Context<AppEnv>, principal: Principal, token?: string): Credential {
  if (principal.kind === "apiKey") return { apiKeyId: principal.id, userId: principal.ownerId };
  if (principal.kind !== "user") return {};
  const bearer = token ?? /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  let expiresAt: number | undefined;
  try {
    const exp = bearer === undefined ? undefined : decodeJwt(bearer).exp;
    if (typeof exp === "number") expiresAt = exp * 1000;
  } catch {}
  return {
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(principal.sessionId === undefined
      ? { userId: principal.id }
      : { sessionId: principal.sessionId }),
  };
}

function parseTopics(c: Context<AppEnv>, topics: readonly string[], principal: Principal) {
  return checkSubscriptions(c.get("services").records.models, principal, topics.map(parseTopic));
}

/**
 * One frame as Server-Sent Events: `event:` its type, `id:` the event id of a change or the
 * position a stream starts from (`connected`), so `Last-Event-ID` resumes from either.
 */
export function sseText(frame: Frame): string {
  const id = frame.type === "change" || frame.type === "connected" ? `id: ${frame.id}\n` : "";
  return `${id}event: ${frame.type}\ndata: ${frameText(frame)}\n\n`;
}

const encoded = new WeakMap<Frame, Uint8Array>();
const encoder = new TextEncoder();
/** A frame's SSE bytes, encoded once however many streams it goes to. */
function sseBytes(frame: Frame): Uint8Array {
  let bytes = encoded.get(frame);
  if (bytes === undefined) {
    bytes = encoder.encode(sseText(frame));
    encoded.set(frame, bytes);
  }
  return bytes;
}

/** Frames a slow reader may leave unread before its stream is dropped. */
const maxQueuedFrames = 1000;

/**
 * SSE: a stream whose sink is the gateway's connection. The connection is made before the
 * answer starts, so refusals (caps, a revoked session) are problems, not a broken stream.
 */
async function openEventStream(
  c: Context<AppEnv>,
  home: RealtimeHome,
  settings: RealtimeSettings,
  request: StreamRequest,
): Promise<Response> {
  const gateway = home.gateway(c);
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let clientId: string | undefined;
  let closed = false;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const finish = () => {
    if (closed) return;
    closed = true;
    if (heartbeat !== undefined) clearInterval(heartbeat);
    if (clientId !== undefined) gateway.disconnect(clientId);
    try {
      controller.close();
    } catch {}
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start(ctrl) {
        controller = ctrl;
      },
      cancel() {
        finish();
      },
    },
    { highWaterMark: maxQueuedFrames, size: () => 1 },
  );
  const sink = {
    send(frame: Frame) {
      if (closed) return;
      if ((controller.desiredSize ?? 0) <= 0) {
        // The reader stopped reading: drop it rather than buffer without bound.
        controller.enqueue(encoder.encode(sseText({ type: "closing", reason: "slow" })));
        return finish();
      }
      controller.enqueue(sseBytes(frame));
    },
    close: finish,
  };
  clientId = await gateway.connect({ ...request, sink }).catch((err: unknown) => {
    closed = true;
    throw err;
  });
  if (closed) gateway.disconnect(clientId);
  heartbeat = setInterval(() => {
    if (!closed) controller.enqueue(encoder.encode(": heartbeat\n\n"));
  }, settings.heartbeatMs);
  c.req.raw.signal?.addEventListener("abort", finish, { once: true });
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}

/**
 * GET /api/realtime (SSE, or a WebSocket upgrade where the home has one) and
 * POST /api/realtime/:clientId/subscriptions. Topics, filters and the credential are checked
 * here, the same way for both transports and both homes; the home carries the stream.
 */
export function realtimeRoutes(home: RealtimeHome, settings: RealtimeSettings) {
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    const upgrade = c.req.header("upgrade")?.toLowerCase() === "websocket";
    const token = upgrade ? subprotocolToken(c) : undefined;
    if (token !== undefined && c.get("principal").kind !== "anonymous")
      throw new ApiError("BAD_REQUEST", "Send one credential: a header or the bearer subprotocol.");
    const principal =
      token === undefined ? c.get("principal") : await subprotocolPrincipal(c, token);
    const known = new Set(["topic", "since"]);
    const unknown = Object.keys(c.req.queries()).filter((k) => !known.has(k));
    if (unknown.length > 0)
      throw new ApiError(
        "INVALID_QUERY",
        `Unknown query parameter ${JSON.stringify(unknown[0]!.slice(0, 64))}; this request takes topic and since.`,
        {
          errors: [{ path: `/${unknown[0]!.slice(0, 64)}`, message: "unknown query parameter" }],
        },
      );
    const request: StreamRequest = {
      principal,
      credential: credentialOf(c, principal, token),
      subs: parseTopics(c, c.req.queries("topic") ?? [], principal),
      since: c.req.header("last-event-id") ?? c.req.query("since"),
      address: c.get("platform").clientIp(c),
    };
    if (upgrade) {
      if (home.websocket === undefined)
        throw new ApiError("UNAVAILABLE", "This server offers realtime over SSE only.");
      return home.websocket(c, request);
    }
    return openEventStream(c, home, settings, request);
  });

  app.post("/:clientId/subscriptions", async (c) => {
    const principal = c.get("principal");
    const body = z.safeParse(subscribeInput, await readJsonObject(c));
    if (!body.success)
      throw new ApiError("VALIDATION_FAILED", 'Send {"topics": ["posts/*", …]}.', {
        errors: body.error.issues.map((i) => ({
          path: `/${i.path.join("/")}`,
          message: i.message,
        })),
      });
    const subs = parseTopics(c, body.data.topics, principal);
    const clientId = c.req.param("clientId");
    await home.gateway(c).subscribe({
      clientId,
      principal,
      credential: credentialOf(c, principal),
      address: c.get("platform").clientIp(c),
      subs,
    });
    return c.json({ clientId, topics: subs.map((s) => s.topic) });
  });

  return app;
}
