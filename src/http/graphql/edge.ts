import type { Context, MiddlewareHandler, Next } from "hono";
import type { VersionMemo } from "../../core/edge/versions";
import { randomToken } from "../../core/kernel/crypto";
import type { Models } from "../../core/records/model";
import type { AppEnv } from "../context";
import { recordWrite } from "../middleware/edge";
import { sharedCache } from "../middleware/shared-cache";
import { shareForGraphQL } from "./route";
import type { GraphQLRuntime, LoadGraphQL } from "./runtime";

export interface GraphQLEdgeOptions {
  /**
   * The REST edge layer's version memo: one per app, so a write through either API moves this
   * isolate's cache keys for both at once (a GraphQL delete is not served from REST's cache,
   * nor a REST write from GraphQL's, for up to `memoMs`).
   */
  memo: VersionMemo;
  enabled: boolean;
  consistencyWindowMs: number;
}

/**
 * The edge layer for /graphql, built from the REST API's parts: the same shared cache
 * middleware (`sharedCache`) with a share decision made from the query (`shareForGraphQL`), so a
 * public GET query is stored under the data versions it read and invalidated by any write to
 * them, exactly as a REST list; and after a mutation, the same read-your-writes token (header
 * and cookie). It shares the REST layer's version memo, so writes through either API are learned
 * by both at once in this isolate; other locations see them within `memoMs`, as for REST.
 */
export function graphqlEdge(
  load: LoadGraphQL,
  models: Models,
  options: GraphQLEdgeOptions,
): MiddlewareHandler<AppEnv> {
  const memo = options.memo;
  // Random values are refused at global scope on Workers, where the app is built.
  let secret: string | undefined;
  const revalidateSecret = () => (secret ??= randomToken(24));
  // Loaded by the first GET before the cache asks for its share decision (synchronous).
  let runtime: GraphQLRuntime | undefined;
  const share = shareForGraphQL(() => runtime, models);
  const cache = sharedCache(
    options.enabled
      ? share
      : (c) => {
          const decision = share(c);
          return decision && { ...decision, shareable: false };
        },
    memo,
    revalidateSecret,
    options.consistencyWindowMs,
  );
  const wrote = (c: Context<AppEnv>, versions: Map<string, number>) =>
    recordWrite(c, versions, memo, options.consistencyWindowMs);
  return async function graphqlEdgeMiddleware(c: Context<AppEnv>, next: Next) {
    if (c.req.method === "GET") {
      runtime ??= await load();
      return cache(c, next);
    }
    await next();
    const versions = c.get("wrote");
    if (versions !== undefined && c.res.status < 300) wrote(c, versions);
  };
}
