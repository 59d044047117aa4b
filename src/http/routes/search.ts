import { Hono, type MiddlewareHandler } from "hono";
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

const built = new WeakMap<Platform, { models: Models; service: SearchService }>();

/** The search service of this app (one per platform: per process or isolate). */
function searchService(platform: Platform, models: Models): SearchService {
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

/** GET /api/collections/:name/search (keyword, semantic, hybrid, near). */
export function searchRoutes() {
  const app = new Hono<AppEnv>();
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
    c.header("cache-control", "private, no-store");
    return c.json(answer);
  });
  return app;
}

/**
 * After a write to a collection with a vector field, embeds what became pending once the
 * response is on its way (waitUntil on Workers): the write itself never waits for an embedder.
 * The scheduled job (embeddingJob) retries what this misses.
 */
export function embedAfterWrites(models: Models): MiddlewareHandler<AppEnv> {
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
        },
        { maxBatches: 4 },
      ).catch((err: unknown) =>
        platform.log.write({ level: "warn", msg: "embedding failed", error: String(err) }),
      ),
    );
  };
}
