import { ApiError } from "../http/errors";
import type { LogSink } from "../observability/logger";
import type { CachePort, EventDispatcher, Mailer, RateLimiterPort } from "./types";

/**
 * No-op ports for features whose issue has not landed. Each one says so in the log when the
 * platform is built, so nobody mistakes "always miss" or "never limited" for the real thing.
 * A mailer that silently dropped mail would hide bugs, so it refuses instead.
 */
export function unimplementedPorts(log: LogSink, home: string) {
  const missing = ["cache", "rateLimiter", "events", "mailer"];
  log.write({
    level: "warn",
    msg: "ports not implemented yet; using no-op stand-ins",
    home,
    ports: missing,
  });
  const cache: CachePort = {
    implemented: false,
    match: async () => undefined,
    put: async () => {},
    delete: async () => {},
  };
  const rateLimiter: RateLimiterPort = {
    implemented: false,
    hit: async () => ({ allowed: true, limit: 0, remaining: 0, resetSeconds: 0 }),
  };
  const events: EventDispatcher = { implemented: false, dispatch: async () => {} };
  const mailer: Mailer = {
    implemented: false,
    send: async () => {
      throw new ApiError("NOT_IMPLEMENTED", "Sending mail is not available yet.");
    },
  };
  return { cache, rateLimiter, events, mailer };
}
