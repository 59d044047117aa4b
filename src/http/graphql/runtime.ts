import type { Models } from "../../core/records/model";
import { createGraphQLEngine, type GraphQLEngineOptions } from "./engine";
import { requestError } from "./errors";
import { graphqlShareDecision } from "./share";

/**
 * The part of /graphql that needs graphql-js (the engine with its schema, request errors, the
 * edge share decision), built on the first /graphql request (`graphqlModule`), not when the app
 * starts: graphql-js is a quarter of the Node bundle and the schema takes ~16 ms to build, and a
 * server that is never asked a GraphQL query needs neither (load-runtime.ts says where the
 * module itself is loaded lazily too).
 */
export function graphqlRuntime(models: Models, options: GraphQLEngineOptions) {
  return { engine: createGraphQLEngine(models, options), requestError, graphqlShareDecision };
}

export type GraphQLRuntime = ReturnType<typeof graphqlRuntime>;

/** The runtime, loaded and built once (the same promise for every caller). */
export type LoadGraphQL = () => Promise<GraphQLRuntime>;
