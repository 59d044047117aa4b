import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";

/**
 * Every response under /api/auth and /api/keys may carry tokens, keys or account data: never
 * stored by a browser or proxy (RFC 6749 §5.1; `Pragma` for HTTP/1.0 caches).
 */
export const noStore: MiddlewareHandler<AppEnv> = async function noStore(c, next) {
  await next();
  c.res.headers.set("cache-control", "no-store");
  c.res.headers.set("pragma", "no-cache");
};
