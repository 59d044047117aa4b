import type { VersionMemo } from "../../core/edge/versions";
import type { Models } from "../../core/records/model";
import { graphqlEdge } from "./edge";
import { createGraphQLEngine } from "./engine";
import { graphqlRoutes } from "./route";

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
 * GraphQL at /graphql, for `createApp`: the engine (schema from the models, limits, persisted
 * queries), its edge middleware (shared cache, read-your-writes) and its routes.
 */
export function graphqlModule(models: Models, options: GraphQLOptions) {
  const engine = createGraphQLEngine(models, { introspection: options.introspection });
  return {
    engine,
    edge: graphqlEdge(engine, models, {
      memo: options.memo,
      enabled: options.sharedCache,
      consistencyWindowMs: options.consistencyWindowMs,
    }),
    routes: graphqlRoutes(engine, {
      introspection: options.introspection,
      consistencyWindowMs: options.consistencyWindowMs,
    }),
  };
}
