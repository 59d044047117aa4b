import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { setMetric } from "hono/timing";
import { databaseUnavailable } from "../../core/db/unavailable";
import {
  type CachePolicy,
  etagOf,
  matchesIfNoneMatch,
  privateCacheControl,
  publicCacheControl,
  staleIfErrorSeconds,
} from "../../core/edge/cache-policy";
import {
  consistencyCookie,
  consistencyHeader,
  decodeToken,
  satisfies,
} from "../../core/edge/consistency";
import type { ShareDecision } from "../../core/edge/share";
import type { VersionMemo } from "../../core/edge/versions";
import type { CachedEntry } from "../../core/kernel/ports";
import type { Principal } from "../../core/kernel/principal";
import { type AppEnv, isAdmin } from "../context";

export type Share = (c: Context<AppEnv>) => ShareDecision | undefined;

export const revalidateHeader = "x-nearbase-revalidate";

/**
 * Edge caching for GETs. Shareable answers are kept in the platform's shared cache under a key
 * that includes the data versions they were built from, so a write anywhere makes every
 * location miss as soon as it learns the new version (memo ≤ `memo.memoMs`). Stale entries
 * within stale-while-revalidate are served and refreshed in the background. A caller with a
 * read-your-writes token newer than what we can prove goes past the cache (BYPASS) and is
 * marked to read from the primary. Every GET gets an ETag and 304 handling.
 */
export function sharedCache(
  share: Share,
  memo: VersionMemo,
  /** Marks the app's own refresh requests; made on first use (not at global scope on Workers). */
  revalidateSecret: () => string,
  consistencyWindowMs: number,
): MiddlewareHandler<AppEnv> {
  return async function sharedCacheMiddleware(c, next) {
    if (c.req.method !== "GET") return next();
    const decision = share(c);
    if (decision === undefined) return next();
    const platform = c.get("platform");
    const telemetry = c.get("telemetry");
    const now = platform.clock.now().getTime();
    const token = decodeToken(
      c.req.header(consistencyHeader) ?? getCookie(c, consistencyCookie),
      now,
      consistencyWindowMs,
    );

    const { mayShare, publicAnswer } = sharing(decision, c.get("principal"));
    const versions: number[] = [];
    let behind = false;
    // The database cannot be reached: the last versions this isolate knew key the lookup, and
    // an entry found with them is served as STALE-IF-ERROR (a caller with a token is not).
    let degraded = false;
    for (const scope of mayShare || token !== undefined ? decision.scopes : []) {
      // Versions come from the copy this request reads (the replica), so an entry keyed by
      // them holds data at least that new.
      let version: number;
      try {
        version = await memo.get(platform.replica, scope);
      } catch (err) {
        const last = memo.lastKnown(scope);
        if (!databaseUnavailable(err) || last === undefined || token !== undefined) throw err;
        degraded = true;
        versions.push(last);
        continue;
      }
      if (!satisfies(token, scope, version)) {
        version = await memo.get(platform.replica, scope, { fresh: true });
      }
      if (!satisfies(token, scope, version)) behind = true;
      versions.push(version);
    }
    if (behind) c.set("readOptions", { fresh: true });

    const cacheable = mayShare && !behind;
    let unavailable = false;
    // What only a shareable answer needs (its key, a refresh's URL) is not made for the others.
    const refreshing = cacheable && c.req.header(revalidateHeader) === revalidateSecret();
    const url = cacheable ? new URL(c.req.url) : undefined;

    const key = url ? cacheKey(url, decision.variant, decision.scopes, versions) : "";
    // An entry past stale-while-revalidate, kept only for when the database cannot answer.
    let fallback: { bytes: Uint8Array; headers: Headers; age: number } | undefined;
    if (url !== undefined && !refreshing) {
      const lookupStarted = performance.now();
      let entry: CachedEntry | undefined;
      let bytes: Uint8Array | undefined;
      try {
        entry = await telemetry.span(
          "cache.match",
          "internal",
          { "cache.home": platform.name },
          () => platform.cache.match(key),
        );
        // Node's LRU hands over its bytes; a Response body is read only from the Cache API.
        bytes = entry?.bytes ?? (entry && new Uint8Array(await entry.response.arrayBuffer()));
      } catch (err) {
        // A cache that fails is a cache that is not there: answer from the database (BYPASS).
        cacheFailed(c, "match", err);
        unavailable = true;
      }
      setMetric(
        c,
        "cache",
        performance.now() - lookupStarted,
        entry === undefined ? "miss" : "hit",
      );
      const age = entry === undefined ? 0 : (now - entry.storedAt) / 1000;
      const state = freshness(decision.policy, age);
      if (entry !== undefined && bytes !== undefined && (degraded || state === "expired")) {
        fallback = { bytes, headers: entry.response.headers, age: Math.floor(age) };
        if (degraded) return staleIfError(c, fallback, publicAnswer ? decision : undefined);
      } else if (entry !== undefined && bytes !== undefined) {
        const fresh = state === "fresh";
        telemetry.cache = fresh ? "HIT" : "STALE";
        if (!fresh) {
          // Refresh through the app itself, so the handler, rules and serialisation are the same.
          // `selfFetch` settles only once the refresh's own deferred work (its cache put) has,
          // so this one deferral keeps the whole refresh alive on Workers.
          const headers = new Headers({ [revalidateHeader]: revalidateSecret() });
          const refresh = c.get("selfFetch")?.(new Request(url, { headers }));
          if (refresh !== undefined) platform.defer(c, refresh);
        }
        return answer(
          c,
          bytes,
          entry.response.headers,
          publicAnswer ? decision : undefined,
          Math.floor(age),
        );
      }
    }

    await next();
    const res = c.res;
    if (res.status === 503 && fallback !== undefined && databaseUnavailable(c.error))
      return staleIfError(c, fallback, publicAnswer ? decision : undefined);
    if (res.status !== 200) return;
    // A large body (a file) streams through as the handler made it, never buffered or stored.
    if (Number(res.headers.get("content-length") ?? 0) > maxStoredBytes) {
      telemetry.cache = "BYPASS";
      return;
    }
    // The handler knows better (a protected file among a record's public ones): never shared.
    const handlerPrivate = /\b(?:private|no-store)\b/i.test(res.headers.get("cache-control") ?? "");
    const storing = cacheable && !unavailable && !handlerPrivate;
    telemetry.cache = storing ? "MISS" : "BYPASS";
    const shared = publicAnswer && !behind && !handlerPrivate ? decision : undefined;
    if (!storing) {
      // Nothing to keep (a private answer, the cache off): the answer goes out as the handler
      // made it, with the cache's fields set on its own headers; the body is read back only
      // when it has no ETag and the handler did not hand over its text (`jsonAnswer`).
      const text = c.get("answerText");
      const own = res.headers.get("etag");
      const etag = own ?? (text === undefined ? null : etagOf(text));
      if (etag !== null) {
        if (own === null) res.headers.set("etag", etag);
        const status = cacheHeaders(
          res.headers,
          shared,
          "BYPASS",
          0,
          c.req.header("if-none-match"),
        );
        if (status === 304) {
          c.res = undefined;
          c.res = new Response(null, { status, headers: res.headers });
        }
        return;
      }
    }
    const body = new Uint8Array(await res.arrayBuffer());
    const etag = res.headers.get("etag") ?? etagOf(body);
    const headers = new Headers(res.headers);
    headers.set("etag", etag);
    if (storing) {
      const ttl =
        decision.policy.sMaxAge + decision.policy.staleWhileRevalidate + staleIfErrorSeconds;
      const entry = new Response(body, { status: 200, headers: stored(headers) });
      let put: Promise<void>;
      try {
        put = platform.cache.put(key, entry, ttl);
      } catch (err) {
        put = Promise.reject(err);
      }
      platform.defer(
        c,
        put.catch((err: unknown) => cacheFailed(c, "put", err)),
      );
    }
    c.res = undefined;
    c.res = answer(c, body, headers, shared, 0, true);
  };
}

/**
 * Whether a GET's answer may come from (and go to) the shared cache, and whether it may also be
 * stored by caches we do not run. One predicate for the middleware and for the Node home's
 * fast path (src/platform/node/cache-fast-path.ts), so the two cannot drift.
 */
export function sharing(decision: ShareDecision, principal: Principal) {
  // Versions matter only for a shareable answer's cache key or to check a consistency token;
  // a private answer with no token skips the lookups.
  const mayShare = decision.shareable && !isAdmin(principal);
  // Only an anonymous caller's answer may be stored by caches we do not run: whatever an
  // admin, a user or an API key receives is private, even when our own cache shares it.
  const publicAnswer = mayShare && principal.kind === "anonymous";
  return { mayShare, publicAnswer };
}

/**
 * An entry `age` seconds old: served as it is (fresh), served while refreshed in the background
 * (stale, within stale-while-revalidate), or kept only for when the database cannot answer.
 */
export function freshness(policy: CachePolicy, age: number): "fresh" | "stale" | "expired" {
  if (age <= policy.sMaxAge) return "fresh";
  return age <= policy.sMaxAge + policy.staleWhileRevalidate ? "stale" : "expired";
}

/** Bodies larger than this (by Content-Length) are neither buffered nor stored. */
export const maxStoredBytes = 8 * 1024 * 1024;

/** A kept answer served because the database cannot be reached, labelled as such. */
function staleIfError(
  c: Context<AppEnv>,
  entry: { bytes: Uint8Array; headers: Headers; age: number },
  decision: ShareDecision | undefined,
) {
  c.get("telemetry").cache = "STALE-IF-ERROR";
  c.res = undefined;
  c.res = answer(c, entry.bytes, entry.headers, decision, Math.max(1, entry.age));
  return c.res;
}

function cacheFailed(c: Context<AppEnv>, op: "match" | "put", err: unknown) {
  c.get("platform").log.write({
    level: "warn",
    msg: `shared cache ${op} failed`,
    error: err instanceof Error ? err.message : String(err),
  });
}

/** What `app.fetch` needs to re-dispatch a request (Hono's app satisfies it). */
interface Dispatcher {
  fetch(request: Request, env: unknown, ctx: ExecutionContextLike): Response | Promise<Response>;
}
interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
  props: unknown;
}

/**
 * Sends a request through the app again (the shared cache's background refresh) and settles
 * once the response AND the work it deferred (its cache put) have. The inner request gets an
 * execution context of its own that collects that work: on Workers a promise nobody awaits dies
 * with the outer `waitUntil`, so the caller defers this one promise and the put lands. The
 * response comes back with its body read: a refresh wants the side effect, not the bytes.
 */
export async function selfFetch(app: Dispatcher, request: Request, env: unknown) {
  const deferred: Promise<unknown>[] = [];
  const ctx: ExecutionContextLike = {
    waitUntil: (promise) => {
      deferred.push(promise);
    },
    passThroughOnException: () => {},
    props: {},
  };
  const response = await app.fetch(request, env, ctx);
  // The body is already buffered by the middleware; reading it frees the stream either way.
  await response.arrayBuffer();
  while (deferred.length > 0) await Promise.allSettled(deferred.splice(0));
  return response;
}

/**
 * The headers kept with a shared entry: none that belong to the request that filled it (CORS
 * answers for its Origin, Vary, cookies, timing), so a later caller gets only its own. Files
 * keep how they are shown (Content-Disposition) and that they take ranges.
 */
function stored(headers: Headers): Headers {
  const kept = new Headers();
  for (const [name, value] of headers) {
    if (keptHeaders.has(name)) kept.set(name, value);
  }
  return kept;
}
const keptHeaders = new Set([
  "content-type",
  "etag",
  "content-language",
  "content-disposition",
  "accept-ranges",
]);

/**
 * The response for the caller. The body is passed as a Uint8Array, not a stream nor an
 * ArrayBuffer, so the Node adapter writes it in one go: @hono/node-server's fast path takes
 * strings and Uint8Arrays only (an ArrayBuffer made it build an undici Response and read its
 * body stream, on every hit).
 */
function answer(
  c: Context<AppEnv>,
  body: Uint8Array,
  storedHeaders: Headers,
  decision: ShareDecision | undefined,
  age: number,
  /** `storedHeaders` is this request's own copy: changed in place rather than copied again. */
  owned = false,
): Response {
  const headers = owned ? storedHeaders : new Headers(storedHeaders);
  const status = cacheHeaders(
    headers,
    decision,
    c.get("telemetry").cache ?? "BYPASS",
    age,
    c.req.header("if-none-match"),
  );
  return new Response(status === 304 ? null : body, { status, headers });
}

/** What `cacheHeaders` sets fields on: a `Headers`, or the Node fast path's plain record. */
export type FieldSet = Pick<Headers, "get" | "set" | "append">;

/**
 * The cache's own fields on an answer (Cache-Control, X-Cache, Vary, Age), set on `headers`;
 * returns the status: 304 when If-None-Match names the ETag. `decision` is set for an answer
 * caches we do not run may store too. The middleware and the Node fast path both call this.
 */
export function cacheHeaders(
  headers: FieldSet,
  decision: ShareDecision | undefined,
  label: string,
  age: number,
  ifNoneMatch: string | undefined,
): 200 | 304 {
  headers.set(
    "cache-control",
    decision ? publicCacheControl(decision.policy) : privateCacheControl,
  );
  headers.set("x-cache", label);
  headers.append("vary", decision ? "Accept-Encoding" : "Authorization, Cookie");
  if (age > 0) headers.set("age", String(age));
  const etag = headers.get("etag");
  return etag !== null && matchesIfNoneMatch(ifNoneMatch, etag) ? 304 : 200;
}

/** The URL with sorted query parameters, plus the versions the answer was built from. */
export function cacheKey(
  url: URL,
  variant: string,
  scopes: readonly string[],
  versions: readonly number[],
): string {
  // By name only: the sort is stable, so the values of a repeated name keep their order (the
  // handlers read the first one: `?filter=A&filter=B` and `?filter=B&filter=A` differ).
  const params = [...url.searchParams].sort(([a], [b]) => (a === b ? 0 : a < b ? -1 : 1));
  const query = new URLSearchParams(params).toString();
  const stamp = [variant, ...scopes.map((s, i) => `${s}@${versions[i]}`)].join(";");
  // The stamp goes in the path: the Cache API ignores fragments.
  return `${url.origin}/__nearbase/cache/${encodeURIComponent(stamp)}${url.pathname}?${query}`;
}
