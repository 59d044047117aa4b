import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { databaseUnavailable, unavailableRetryAfterSeconds } from "../core/db/unavailable";
import { ApiError, type ErrorCode, problemContentType, toProblem } from "../core/kernel/errors";
import { describeError } from "../core/kernel/log";
import type { AppEnv } from "./context";

const codeForStatus: Record<number, ErrorCode> = {
  400: "BAD_REQUEST",
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  412: "PRECONDITION_FAILED",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
  503: "UNAVAILABLE",
};

function problemJson(c: Context<AppEnv>, err: ApiError): Response {
  const body = toProblem(err.code, err.message, c.get("requestId"), err.errors);
  return c.body(JSON.stringify(body), err.status, {
    ...err.headers,
    "content-type": problemContentType,
  });
}

/**
 * Turns anything thrown into a problem+json response. ApiErrors carry their own safe detail;
 * Hono's HTTPExceptions keep their status; a URIError is always bad input (malformed
 * percent-encoding reaching `decodeURIComponent` on a path segment or parameter, wherever that
 * happens) and answers 400 MALFORMED_URI; a database that cannot be reached (or is locked, full,
 * read-only) is a 503 UNAVAILABLE with Retry-After; everything else is a 500. The cause of
 * either is logged with its stack and never sent (no stack traces, no SQL in responses).
 */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ApiError) {
    // A 501/503 the code chose (no embedder configured, a dependency down) is expected: a warning.
    if (err.status >= 500) logFailure(c, err, err.status === 500 ? "error" : "warn");
    return problemJson(c, err);
  }
  if (err instanceof URIError) {
    return problemJson(
      c,
      new ApiError("MALFORMED_URI", "The URL has malformed percent-encoding.", { cause: err }),
    );
  }
  if (err instanceof HTTPException && err.status < 500) {
    const code = codeForStatus[err.status] ?? "BAD_REQUEST";
    return problemJson(c, new ApiError(code, undefined, { cause: err }));
  }
  logFailure(c, err);
  if (databaseUnavailable(err)) {
    return problemJson(
      c,
      new ApiError("UNAVAILABLE", "The database cannot be reached right now; retry shortly.", {
        headers: { "retry-after": String(unavailableRetryAfterSeconds) },
      }),
    );
  }
  return problemJson(
    c,
    new ApiError(
      "INTERNAL",
      "Something went wrong on our side; quote the request id when reporting it.",
    ),
  );
};

function logFailure(c: Context<AppEnv>, err: unknown, level: "error" | "warn" = "error") {
  c.get("platform")?.log.write({
    level,
    msg: "unhandled error",
    requestId: c.get("requestId"),
    method: c.req.method,
    error: describeError(err),
  });
}

export const onNotFound: NotFoundHandler<AppEnv> = (c) =>
  problemJson(c, new ApiError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}.`));
