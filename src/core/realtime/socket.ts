import { databaseUnavailable } from "../db/unavailable";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import type { Models } from "../records/model";
import type { Frame } from "./protocol";
import { checkSubscriptions, type ParsedSubscription, parseTopic } from "./topics";

/** What a WebSocket client may send: `ping` (answered `pong`) or a subscription change. */
export type SocketCommand =
  | { kind: "ping" }
  | { kind: "subscribe"; subs: ParsedSubscription[] }
  | { kind: "invalid"; frame: Frame };

/** Reads one text message from a realtime WebSocket client (both homes). */
export function readSocketMessage(
  data: unknown,
  models: Models,
  principal: Principal,
): SocketCommand {
  if (data === "ping") return { kind: "ping" };
  try {
    if (typeof data !== "string" || data.length > 64 * 1024)
      throw new ApiError("BAD_REQUEST", "Send text messages: ping, or a subscribe command.");
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      throw new ApiError("INVALID_JSON", "A message is `ping` or JSON.");
    }
    const m = message as { type?: unknown; topics?: unknown };
    if (
      m.type !== "subscribe" ||
      !Array.isArray(m.topics) ||
      !m.topics.every((t) => typeof t === "string")
    )
      throw new ApiError("BAD_REQUEST", 'Send {"type":"subscribe","topics":["posts/*", …]}.');
    return {
      kind: "subscribe",
      subs: checkSubscriptions(models, principal, (m.topics as string[]).map(parseTopic)),
    };
  } catch (err) {
    return { kind: "invalid", frame: errorFrame(err) };
  }
}

/** A refusal as a WebSocket message (the problem's status, code and detail). */
export function errorFrame(err: unknown): Frame {
  if (err instanceof ApiError)
    return { type: "error", status: err.status, code: err.code, detail: err.message };
  // As over HTTP (src/http/error-handler.ts): an outage is a 503 to retry, not a bug.
  if (databaseUnavailable(err))
    return {
      type: "error",
      status: 503,
      code: "UNAVAILABLE",
      detail: "The database cannot be reached right now; retry shortly.",
    };
  return { type: "error", status: 500, code: "INTERNAL", detail: "Internal server error" };
}
