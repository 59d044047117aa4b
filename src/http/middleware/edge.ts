import type { Context, Next } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import {
  consistencyCookie,
  consistencyHeader,
  decodeToken,
  encodeToken,
  mergeToken,
} from "../../core/edge/consistency";
import { type ShareDecision, shareDecision } from "../../core/edge/share";
import { VersionMemo } from "../../core/edge/versions";
import { randomToken } from "../../core/kernel/crypto";
import type { Principal } from "../../core/kernel/principal";
import type { Models } from "../../core/records/model";
import type { AppEnv } from "../context";
import { sharedCache } from "./shared-cache";

const recordsPath = /^\/api\/collections\/([^/]+)\/records(?:\/([^/]+))?$/;

/**
 * The share decision for a collections GET (see `shareDecision`), read off the request. Paths
 * that are not collection reads get none.
 */
export function shareForCollections(models: Models) {
  const share = shareForPath(models);
  return (c: Context<AppEnv>): ShareDecision | undefined =>
    share(c.req.path, (name) => c.req.query(name), c.get("principal"));
}

/**
 * The same decision from plain values: the request's (decoded) path, its query parameters (the
 * first value of a name) and the caller. The Node home's cache fast path decides with this
 * before any Hono context exists.
 */
export function shareForPath(models: Models) {
  return (
    path: string,
    query: (name: string) => string | undefined,
    principal: Principal,
  ): ShareDecision | undefined => {
    const match = recordsPath.exec(path);
    if (!match) return undefined;
    return shareDecision(models, {
      collection: safeDecode(match[1]!),
      id: match[2],
      filter: query("filter"),
      expand: query("expand"),
      principal,
    });
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export interface EdgeOptions {
  memoMs: number;
  /** A version memo shared with another edge layer (GraphQL's), so each learns the other's writes. */
  memo?: VersionMemo;
  /** False: nothing is stored in the shared cache (answers still get ETags and 304s). */
  enabled: boolean;
  consistencyWindowMs: number;
}

/**
 * The edge layer of the collections API: the shared cache on GETs, reads routed to the replica
 * unless read-your-writes needs the primary, and a consistency token on every write's response
 * (header for API clients, cookie for browsers).
 */
export function collectionEdge(models: Models, options: EdgeOptions) {
  const memo = options.memo ?? new VersionMemo(options.memoMs);
  // Random values are refused at global scope on Workers, where the app is built: made on first use.
  let secret: string | undefined;
  const revalidateSecret = () => (secret ??= randomToken(24));
  const share = shareForCollections(models);
  // With the cache off every decision is its unshareable twin (decisions are memoised: so are
  // their twins).
  const unshared = new WeakMap<ShareDecision, ShareDecision>();
  const cache = sharedCache(
    options.enabled
      ? share
      : (c) => {
          const decision = share(c);
          if (decision === undefined) return undefined;
          let twin = unshared.get(decision);
          if (twin === undefined) {
            twin = Object.freeze({ ...decision, shareable: false });
            unshared.set(decision, twin);
          }
          return twin;
        },
    memo,
    revalidateSecret,
    options.consistencyWindowMs,
  );
  /**
   * After a write: learn the versions it produced (when reads see it at once) and hand the
   * caller a read-your-writes token (header for API clients, cookie for browsers).
   */
  const wrote = (c: Context<AppEnv>, versions: Map<string, number>) =>
    recordWrite(c, versions, memo, options.consistencyWindowMs);
  return async function collectionEdgeMiddleware(c: Context<AppEnv>, next: Next) {
    if (c.req.method === "GET") return cache(c, next);
    await next();
    const versions = c.get("wrote");
    if (versions !== undefined && c.res.status < 300) wrote(c, versions);
  };
}

/**
 * After a committed write (REST or GraphQL): this isolate's cache keys move forward when reads
 * see the write at once (with a lagging replica they must not: an entry keyed by the new version
 * could be filled from a replica that has not caught up), and the writer gets its read-your-writes
 * token, merged with the one it sent, as a header and as ONE cookie for the whole origin (Path=/:
 * two cookies of one name on different paths would make a browser send the older one first).
 */
export function recordWrite(
  c: Context<AppEnv>,
  versions: Map<string, number>,
  memo: VersionMemo,
  consistencyWindowMs: number,
) {
  const platform = c.get("platform");
  if (platform.freshReads) for (const [scope, version] of versions) memo.learn(scope, version);
  const now = platform.clock.now().getTime();
  const existing = decodeToken(
    c.req.header(consistencyHeader) ?? getCookie(c, consistencyCookie),
    now,
    consistencyWindowMs,
  );
  const token = encodeToken(mergeToken(existing, versions, now + consistencyWindowMs));
  c.header(consistencyHeader, token);
  setCookie(c, consistencyCookie, token, {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    secure: new URL(c.req.url).protocol === "https:",
    maxAge: Math.ceil(consistencyWindowMs / 1000),
  });
}
