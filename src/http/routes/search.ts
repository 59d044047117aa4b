import { type Context, Hono, type MiddlewareHandler } from "hono";
import { type ShareDecision, shareDecision } from "../../core/edge/share";
import type { VersionMemo } from "../../core/edge/versions";
import { randomToken } from "../../core/kernel/crypto";
import type { Platform } from "../../core/kernel/ports";
import { versionScope } from "../../core/records/commit";
import { refuseUnknownParams } from "../../core/records/list-params";
import type { Models } from "../../core/records/model";
import { embedPending, vectorModels } from "../../core/search/embed";
import { embeddersFromSecrets } from "../../core/search/embedders";
import {
  createSearchService,
  type SearchService,
  searchQueryParams,
} from "../../core/search/service";
import type { AppEnv } from "../context";
import { sharedCache } from "../middleware/shared-cache";

const built = new WeakMap<Platform, { models: Models; service: SearchService }>();

/** The search service of this app (one per platform: per process or isolate; GraphQL's too). */
export function searchService(platform: Platform, models: Models): SearchService {
  let entry = built.get(platform);
  if (entry === undefined || entry.models !== models) {
    entry = {
      models,
      service: createSearchService({
        models,
        primary: platform.sql,
        replica: platform.replica,
        now: () => platform.clock.now(),
        embedders: embeddersFromSecrets(platform.secrets),
      }),
    };
    built.set(platform, entry);
  }
  return entry.service;
}

export interface SearchEdgeOptions {
  /** The app's version memo (shared with the collections and GraphQL edge layers). */
  memo: VersionMemo;
  /** False: nothing is stored in the shared cache (SHARED_CACHE=off). */
  enabled: boolean;
  consistencyWindowMs: number;
}

const searchPath = /^\/api\/collections\/([^/]+)\/search$/;

/**
 * Whether a search answer may be shared, decided as for the collection's list (its list rule,
 * the client filter, the collection's cache policy): a search reads exactly what a list with
 * that filter may read, ranked. `near=<id>` also reads that record under the view rule, so the
 * view rule's dependencies count too. Keys carry the collection's version, which writes AND the
 * embedding job's status updates move.
 */
export function shareForSearch(models: Models) {
  return (c: Context<AppEnv>): ShareDecision | undefined => {
    const match = searchPath.exec(c.req.path);
    if (!match) return undefined;
    let name: string;
    try {
      name = decodeURIComponent(match[1]!);
    } catch {
      return undefined;
    }
    const principal = c.get("principal");
    const list = shareDecision(models, {
      collection: name,
      filter: c.req.query("filter"),
      principal,
    });
    const near = c.req.query("near");
    if (list === undefined || near === undefined) return list;
    const view = shareDecision(models, { collection: name, id: near, principal });
    if (view === undefined) return list;
    return {
      shareable: list.shareable && view.shareable,
      scopes: [...new Set([...list.scopes, ...view.scopes])],
      policy: list.policy,
      variant: list.variant === "all" && view.variant === "all" ? "all" : "anonymous",
    };
  };
}

/** GET /api/collections/:name/search (keyword, semantic, hybrid, near), edge-cached like lists. */
export function searchRoutes(options: SearchEdgeOptions) {
  const app = new Hono<AppEnv>();
  let secret: string | undefined;
  const share = (() => {
    const bySearch = new WeakMap<Models, ReturnType<typeof shareForSearch>>();
    return (c: Context<AppEnv>) => {
      const models = c.get("services").records.models;
      let fn = bySearch.get(models);
      if (fn === undefined) {
        fn = shareForSearch(models);
        bySearch.set(models, fn);
      }
      const decision = fn(c);
      return decision && (options.enabled ? decision : { ...decision, shareable: false });
    };
  })();
  app.use(
    "/api/collections/:name/search",
    sharedCache(
      share,
      options.memo,
      // Random values are refused at global scope on Workers: made on first use.
      () => (secret ??= randomToken(24)),
      options.consistencyWindowMs,
    ),
  );
  app.get("/api/collections/:name/search", async (c) => {
    refuseUnknownParams(Object.keys(c.req.queries()), searchQueryParams);
    const platform = c.get("platform");
    const service = searchService(platform, c.get("services").records.models);
    const answer = await service.search(
      c.get("principal"),
      c.req.param("name"),
      (n) => c.req.query(n),
      c.get("readOptions"),
    );
    // The shared-cache layer sets Cache-Control (public for a shareable anonymous answer).
    return c.json(answer);
  });
  return app;
}

/**
 * After a write to a collection with a vector field, embeds what became pending once the
 * response is on its way (waitUntil on Workers): the write itself never waits for an embedder.
 * The scheduled job (embeddingJob) retries what this misses.
 */
export function embedAfterWrites(models: Models, memo?: VersionMemo): MiddlewareHandler<AppEnv> {
  const scopes = new Set(vectorModels(models).map(versionScope));
  return async function embedAfterWrite(c, next) {
    await next();
    const wrote = c.get("wrote");
    if (wrote === undefined || scopes.size === 0) return;
    if (![...wrote.keys()].some((scope) => scopes.has(scope))) return;
    const platform = c.get("platform");
    platform.defer(
      c,
      embedPending(
        {
          sql: platform.sql,
          models,
          embedders: embeddersFromSecrets(platform.secrets),
          now: () => platform.clock.now().getTime(),
          // Status changes move the collection's version; when reads see them at once this
          // isolate's cache keys move too (as after a write), so no entry shows `pending` on.
          onVersion: platform.freshReads ? (scope, v) => memo?.learn(scope, v) : undefined,
        },
        { maxBatches: 4 },
      ).catch((err: unknown) =>
        platform.log.write({ level: "warn", msg: "embedding failed", error: String(err) }),
      ),
    );
  };
}
