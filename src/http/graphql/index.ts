import type { Models } from "../../core/records/model";
import { graphqlEdge } from "./edge";
import { createGraphQLEngine } from "./engine";
import { graphqlRoutes } from "./route";

export { graphqlPaths } from "./route";

export interface GraphQLOptions {
  /** Introspection answered and GraphiQL shown (GRAPHQL_INTROSPECTION). */
  introspection: boolean;
  /** The shared cache's settings, as for the REST API. */
  memoMs: number;
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
      memoMs: options.memoMs,
      enabled: options.sharedCache,
      consistencyWindowMs: options.consistencyWindowMs,
    }),
    routes: graphqlRoutes(engine, {
      introspection: options.introspection,
      consistencyWindowMs: options.consistencyWindowMs,
    }),
  };
}
