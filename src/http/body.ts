import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../core/kernel/errors";
import type { AppEnv } from "./context";

/**
 * The request-body limit (413 PAYLOAD_TOO_LARGE past `maxBytes`). A body of declared length
 * (Content-Length, not chunked) is judged by its header alone, as hono's bodyLimit does, but
 * without touching `request.body`: on the Node home that getter makes @hono/node-server build a
 * full web Request around a web stream of the socket, and every read after it goes through that
 * stream (a GraphQL POST paid 0.4–0.7× a GET's throughput for it). Left alone, the light
 * request's `text()`/`arrayBuffer()` read the IncomingMessage's Buffer chunks directly. Node's
 * and workerd's HTTP parsers frame a request by its Content-Length, so no more than declared
 * ever reaches a handler. A body of unknown length (chunked) is counted as it streams in.
 */
export function limitBodySize(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = (): never => {
    throw new ApiError("PAYLOAD_TOO_LARGE", `Request bodies are limited to ${maxBytes} bytes.`);
  };
  const streamed = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async function limitBody(c, next) {
    const declared = c.req.header("content-length");
    if (declared !== undefined && c.req.header("transfer-encoding") === undefined) {
      if (Number.parseInt(declared, 10) > maxBytes) tooLarge();
      return next();
    }
    return streamed(c, next);
  };
}

/** Reads a JSON object body: 415 for another media type, 400 INVALID_JSON for broken JSON. */
export async function readJsonObject(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.");
  }
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw new ApiError("INVALID_JSON", "The body is not valid JSON.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError("VALIDATION_FAILED", "The body must be a JSON object.", {
      errors: [{ path: "/", message: "expected an object" }],
    });
  }
  return body as Record<string, unknown>;
}
