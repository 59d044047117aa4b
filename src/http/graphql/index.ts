import type { VersionMemo } from "../../core/edge/versions";
import type { Models } from "../../core/records/model";
import { graphqlEdge } from "./edge";
import { loadRuntime } from "./load-runtime";
import { graphqlRoutes } from "./route";
import type { GraphQLRuntime, LoadGraphQL } from "./runtime";

export { graphqlPaths } from "./route";

export interface GraphQLOptions {
  /** Introspection answered and GraphiQL shown (GRAPHQL_INTROSPECTION). */
  introspection: boolean;
  /** The shared cache's settings: the REST API's version memo (one per app) and switch. */
  memo: VersionMemo;
  sharedCache: boolean;
  consistencyWindowMs: number;
}

/**
 * GraphQL at /graphql, for `createApp`: its edge middleware (shared cache, read-your-writes) and
 * its routes, over the engine (schema from the models, limits, persisted queries) — which is
 * built on the first request that needs it (`./runtime`; in the Node build graphql-js itself is
 * imported then too: load-runtime.ts), so starting the app costs neither. A failed load is
 * tried again at the next request.
 */
export function graphqlModule(models: Models, options: GraphQLOptions) {
  let loading: Promise<GraphQLRuntime> | undefined;
  const load: LoadGraphQL = () => {
    // A failure of either step (importing the chunk, building the schema) is not kept.
    loading ??= loadRuntime()
      .then((m) => m.graphqlRuntime(models, { introspection: options.introspection }))
      .catch((err: unknown) => {
        loading = undefined;
        throw err;
      });
    return loading;
  };
  return {
    load,
    edge: graphqlEdge(load, models, {
      memo: options.memo,
      enabled: options.sharedCache,
      consistencyWindowMs: options.consistencyWindowMs,
    }),
    routes: graphqlRoutes(load, {
      introspection: options.introspection,
      consistencyWindowMs: options.consistencyWindowMs,
    }),
  };
}
