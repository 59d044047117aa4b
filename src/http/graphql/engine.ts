import {
  type DocumentNode,
  type ExecutionResult,
  execute,
  type FragmentDefinitionNode,
  type GraphQLError,
  GraphQLError as GraphQLErrorClass,
  getOperationAST,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type OperationDefinitionNode,
  parse,
  specifiedRules,
  validate,
} from "graphql";
import type { Models } from "../../core/records/model";
import type { GraphQLContext } from "./context";
import { type GraphQLErrorCode, requestError, sanitize } from "./errors";
import { type FastPlan, planFast, runFast } from "./fast";
import { checkLimits, graphqlLimits } from "./limits";
import { buildGraphQLApi, type GraphQLApi } from "./schema";

/** A GraphQL-over-HTTP request's parameters, from a GET query string or a POST body. */
export interface GraphQLRequest {
  query?: string | undefined;
  operationName?: string | undefined;
  variables?: Record<string, unknown> | undefined;
  extensions?: Record<string, unknown> | undefined;
}

/** A document ready to run: parsed, validated, its operation chosen. */
export interface Prepared {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; errors: GraphQLError[] };

export interface GraphQLEngineOptions {
  /** Whether `__schema` / `__type` queries are answered. */
  introspection: boolean;
}

/** Least-recently-used memo with a fixed number of entries. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly size: number) {}
  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: string, value: V) {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.size) this.map.delete(this.map.keys().next().value as string);
  }
}

const fail = (code: GraphQLErrorCode, message: string): Outcome<never> => ({
  ok: false,
  errors: [requestError(code, message)],
});

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * GraphQL over the collections, without HTTP: the schema built once from the models, parsed
 * and validated documents memoised by their text (a repeated query costs a map lookup), the
 * request limits, automatic persisted queries (sha256 → text, per process/isolate), and
 * execution whose errors never carry more than a code and a safe message.
 */
export function createGraphQLEngine(models: Models, options: GraphQLEngineOptions) {
  const api: GraphQLApi = buildGraphQLApi(models);
  const rules = options.introspection
    ? specifiedRules
    : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  const documents = new Lru<Outcome<DocumentNode>>(500);
  // Per operation of a memoised document: its fast plan, or null when it has none.
  const plans = new WeakMap<OperationDefinitionNode, FastPlan | null>();
  const planOf = (operation: OperationDefinitionNode) => {
    let plan = plans.get(operation);
    if (plan === undefined) {
      plan = planFast(api.schema, operation, api.roots) ?? null;
      plans.set(operation, plan);
    }
    return plan;
  };
  const persisted = new Lru<string>(1000);

  /** Parses and validates `text` (memoised, failures too: a bad query is bad every time). */
  function documentOf(text: string): Outcome<DocumentNode> {
    const known = documents.get(text);
    if (known !== undefined) return known;
    let outcome: Outcome<DocumentNode>;
    if (text.length > graphqlLimits.maxQueryLength) {
      outcome = fail(
        "QUERY_TOO_LONG",
        `Queries are limited to ${graphqlLimits.maxQueryLength} characters.`,
      );
    } else {
      try {
        const document = parse(text, { noLocation: false, maxTokens: graphqlLimits.maxTokens });
        const errors = validate(api.schema, document, rules);
        outcome =
          errors.length === 0
            ? { ok: true, value: document }
            : {
                ok: false,
                errors: errors.map((e) => {
                  const introspection = /introspection/i.test(e.message) && !options.introspection;
                  return new GraphQLErrorClass(e.message, {
                    nodes: e.nodes,
                    extensions: {
                      code: introspection ? "INTROSPECTION_DISABLED" : "GRAPHQL_VALIDATION_FAILED",
                    },
                  });
                }),
              };
      } catch (err) {
        const message =
          err instanceof GraphQLErrorClass ? err.message : "The query does not parse.";
        outcome = fail("GRAPHQL_PARSE_FAILED", message);
      }
    }
    documents.set(text, outcome);
    return outcome;
  }

  /** The persisted-query hash a request names (Apollo's `extensions.persistedQuery`). */
  function persistedHash(request: GraphQLRequest): string | undefined | false {
    const pq = request.extensions?.persistedQuery as
      | { sha256Hash?: unknown; version?: unknown }
      | undefined;
    if (pq === undefined || pq === null) return undefined;
    if (
      typeof pq !== "object" ||
      typeof pq.sha256Hash !== "string" ||
      !/^[0-9a-f]{64}$/.test(pq.sha256Hash)
    )
      return false;
    return pq.sha256Hash;
  }

  /**
   * The query text of a request, synchronously: its `query`, or the text stored for its
   * persisted hash. (A hash sent WITH its query is checked by `queryOf`, which stores it.)
   */
  function knownQuery(request: GraphQLRequest): string | undefined {
    if (typeof request.query === "string") return request.query;
    const hash = persistedHash(request);
    return typeof hash === "string" ? persisted.get(hash) : undefined;
  }

  /** The query text of a request, checking and storing a persisted query's hash. */
  async function queryOf(request: GraphQLRequest): Promise<Outcome<string>> {
    const hash = persistedHash(request);
    if (hash === false)
      return fail("BAD_REQUEST", "extensions.persistedQuery needs a sha256Hash of 64 hex digits.");
    if (request.query !== undefined && typeof request.query !== "string")
      return fail("BAD_REQUEST", "query must be a string.");
    if (hash === undefined) {
      if (request.query === undefined || request.query.trim() === "")
        return fail("BAD_REQUEST", "The request has no query.");
      return { ok: true, value: request.query };
    }
    if (request.query === undefined) {
      const text = persisted.get(hash);
      return text === undefined
        ? {
            ok: false,
            errors: [requestError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")],
          }
        : { ok: true, value: text };
    }
    if (request.query.length > graphqlLimits.maxQueryLength)
      return fail(
        "QUERY_TOO_LONG",
        `Queries are limited to ${graphqlLimits.maxQueryLength} characters.`,
      );
    if ((await sha256Hex(request.query)) !== hash)
      return fail("PERSISTED_QUERY_HASH_MISMATCH", "The sha256Hash is not the query's SHA-256.");
    persisted.set(hash, request.query);
    return { ok: true, value: request.query };
  }

  /** A document and the operation it runs, or the request errors. */
  function prepare(text: string, operationName: string | undefined): Outcome<Prepared> {
    const doc = documentOf(text);
    if (!doc.ok) return doc;
    const operation = getOperationAST(doc.value, operationName);
    if (!operation)
      return fail(
        "OPERATION_NOT_FOUND",
        operationName === undefined
          ? "The document has several operations: name one with operationName."
          : `No operation named ${JSON.stringify(operationName.slice(0, 64))}.`,
      );
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const def of doc.value.definitions)
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments[def.name.value] = def;
    return { ok: true, value: { document: doc.value, operation, fragments } };
  }

  /**
   * Runs a prepared operation for one caller. Limits are checked first (nothing runs past
   * them); `internal` lists errors that were not the caller's doing, for the log; `fast` says
   * the read was answered by fast.ts rather than graphql-js's `execute`.
   */
  async function run(
    prepared: Prepared,
    variables: Record<string, unknown> | undefined,
    context: GraphQLContext,
  ): Promise<{ result: ExecutionResult; internal: unknown[]; fast: boolean }> {
    try {
      checkLimits(prepared.operation, prepared.fragments, variables ?? {}, (name) =>
        prepared.operation.operation === "query"
          ? api.roots.get(name)?.kind === "list" || api.searches.has(name)
          : false,
      );
    } catch (err) {
      return { result: { errors: [err as GraphQLError] }, internal: [], fast: false };
    }
    // Simple reads skip graphql-js's per-field execution (fast.ts), with the same answer.
    const plan = planOf(prepared.operation);
    if (plan !== null) {
      const fast = await runFast(api.schema, prepared.operation, plan, variables, context);
      if (fast !== undefined) return { result: fast, internal: [], fast: true };
    }
    const result = await execute({
      schema: api.schema,
      document: prepared.document,
      operationName: prepared.operation.name?.value,
      variableValues: variables,
      contextValue: context,
    });
    const internal: unknown[] = [];
    if (result.errors === undefined) return { result, internal, fast: false };
    const errors = result.errors.map((e) => {
      const safe = sanitize(e);
      if (safe.internal) internal.push(e.originalError ?? e);
      return safe.error;
    });
    return { result: { ...result, errors }, internal, fast: false };
  }

  return { api, schema: api.schema, knownQuery, queryOf, prepare, run };
}

export type GraphQLEngine = ReturnType<typeof createGraphQLEngine>;
