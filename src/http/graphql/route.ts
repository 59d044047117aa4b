import { type Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import { setMetric } from "hono/timing";
import { requireScope } from "../../core/accounts/authenticate";
import { consistencyCookie, consistencyHeader, decodeToken } from "../../core/edge/consistency";
import { ApiError } from "../../core/kernel/errors";
import type { Models } from "../../core/records/model";
import { readJsonObject } from "../body";
import type { AppEnv } from "../context";
import { openApiPaths, type RouteDocs } from "../route-docs";
import { searchService } from "../routes/search";
import type { GraphQLContext } from "./context";
import type { GraphQLRequest } from "./engine";
import { graphiqlPage, graphiqlPolicy, graphiqlScript } from "./graphiql";
import { RelationLoader } from "./loader";
import type { GraphQLRuntime, LoadGraphQL } from "./runtime";

export interface GraphQLRouteOptions {
  /** Introspection answered, and GraphiQL shown to browsers at GET /graphql. */
  introspection: boolean;
  consistencyWindowMs: number;
}

type Json = Record<string, unknown>;

/**
 * The share decision of a GET /graphql (for the edge cache), read off the request; other paths
 * and methods get none, and so does any request while GraphQL is not loaded yet (`runtime`).
 */
export function shareForGraphQL(runtime: () => GraphQLRuntime | undefined, models: Models) {
  return (c: Context<AppEnv>) => {
    if (c.req.path !== "/graphql" || c.req.method !== "GET") return undefined;
    const graphql = runtime();
    if (graphql === undefined) return undefined;
    const request = fromQueryString(c);
    if (!request.ok) return undefined;
    return graphql.graphqlShareDecision(graphql.engine, models, request.value, c.get("principal"));
  };
}

function parseJsonParam(c: Context<AppEnv>, name: string): Json | undefined | false {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return undefined;
  try {
    const value = JSON.parse(raw) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Json)
      : false;
  } catch {
    return false;
  }
}

function fromQueryString(
  c: Context<AppEnv>,
): { ok: true; value: GraphQLRequest } | { ok: false; message: string } {
  const variables = parseJsonParam(c, "variables");
  if (variables === false) return { ok: false, message: "variables must be a JSON object." };
  const extensions = parseJsonParam(c, "extensions");
  if (extensions === false) return { ok: false, message: "extensions must be a JSON object." };
  return {
    ok: true,
    value: {
      query: c.req.query("query"),
      operationName: c.req.query("operationName") || undefined,
      variables,
      extensions,
    },
  };
}

function fromBody(
  body: Json,
): { ok: true; value: GraphQLRequest } | { ok: false; message: string } {
  const { query, operationName, variables, extensions } = body;
  const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  if (query !== undefined && typeof query !== "string")
    return { ok: false, message: "query must be a string." };
  if (operationName !== undefined && operationName !== null && typeof operationName !== "string")
    return { ok: false, message: "operationName must be a string." };
  if (variables !== undefined && variables !== null && !isObject(variables))
    return { ok: false, message: "variables must be an object." };
  if (extensions !== undefined && extensions !== null && !isObject(extensions))
    return { ok: false, message: "extensions must be an object." };
  return {
    ok: true,
    value: {
      query: query as string | undefined,
      operationName: (operationName as string | null | undefined) ?? undefined,
      variables: (variables as Json | null | undefined) ?? undefined,
      extensions: (extensions as Json | null | undefined) ?? undefined,
    },
  };
}

/** What the example query (`{ posts(limit: 2) { items { id title } } }`) answers. */
const answered = {
  data: { posts: { items: [{ id: "pst_7k2q9m4xp1vt8zc", title: "Quarterly report" }] } },
};

const graphqlResponse = {
  description:
    "A GraphQL response: `data` and/or `errors` (each with `extensions.code`). Errors met while executing (a refused write, a stale `ifMatch`) come with 200; a request that could not run (does not parse or validate, passes a limit) with 400.",
  content: {
    "application/json": {
      schema: {
        type: "object",
        properties: {
          data: { type: ["object", "null"] },
          errors: {
            type: "array",
            items: {
              type: "object",
              properties: {
                message: { type: "string" },
                path: { type: "array", items: { type: ["string", "integer"] } },
                locations: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: { line: { type: "integer" }, column: { type: "integer" } },
                    required: ["line", "column"],
                  },
                },
                extensions: {
                  type: "object",
                  properties: { code: { type: "string" } },
                },
              },
              required: ["message"],
            },
          },
        },
      },
    },
  },
};

const docs = () => {
  const answeredJson = { ...graphqlResponse.content["application/json"], example: answered };
  return {
    "get /graphql": {
      tags: ["graphql"],
      summary:
        "GraphQL query over the collections (cacheable; GraphiQL for browsers in development)",
      description:
        'The schema is generated from the collections (`npm run graphql:schema`). Parameters as in GraphQL over HTTP; `extensions` may carry an automatic persisted query (`{"persistedQuery":{"version":1,"sha256Hash":"…"}}`). Public answers are cached at the edge like REST reads.',
      parameters: [
        { name: "query", in: "query", schema: { type: "string" } },
        { name: "operationName", in: "query", schema: { type: "string" } },
        { name: "variables", in: "query", schema: { type: "string" }, description: "JSON object" },
        { name: "extensions", in: "query", schema: { type: "string" }, description: "JSON object" },
      ],
      responses: {
        "200": {
          ...graphqlResponse,
          content: {
            "application/json": answeredJson,
            "text/html": { schema: { type: "string" } },
          },
        },
        "304": { description: "Not modified (If-None-Match)" },
        "400": { ...graphqlResponse, description: "The request could not run" },
        "405": { ...graphqlResponse, description: "Mutations need POST" },
        "500": { ...graphqlResponse, description: "Executing failed on the server's side" },
      },
      // /graphql spends the REST read budget (GET) and write budget (POST).
      raises: ["RATE_LIMITED"],
    },
    "get /graphql/graphiql.js": {
      tags: ["graphql"],
      summary: "GraphiQL's start-up script (development)",
      responses: {
        "200": {
          description: "JavaScript",
          content: { "text/javascript": { schema: { type: "string" } } },
        },
      },
      raises: ["NOT_FOUND"],
    },
    "post /graphql": {
      tags: ["graphql"],
      summary: "GraphQL query or mutation over the collections",
      parameters: [],
      responses: {
        "200": { ...graphqlResponse, content: { "application/json": answeredJson } },
        "400": { ...graphqlResponse, description: "The request could not run" },
        "403": {
          ...graphqlResponse,
          description:
            "A read-only API key: every POST needs `write` (send its queries as GET). The authentication middleware answers it as a problem before GraphQL runs",
        },
        "500": { ...graphqlResponse, description: "Executing failed on the server's side" },
      },
      raises: [
        "INVALID_JSON",
        "VALIDATION_FAILED",
        "PAYLOAD_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
        "FORBIDDEN",
        "RATE_LIMITED",
      ],
    },
  } satisfies RouteDocs;
};

const header = (description: string) => ({ description, schema: { type: "string" } });
const answerHeaders = () => ({
  etag: header("The answer's entity tag (GET)"),
  "cache-control": header("Who may keep the answer: public for anonymous cacheable queries"),
  "x-cache": header(
    "What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served",
  ),
  "nearbase-consistency": header("Read-your-writes token after a mutation (send it back)"),
  ratelimit: header("Remaining budget (draft-ietf-httpapi-ratelimit-headers)"),
  "ratelimit-policy": header("The limit"),
  allow: header("POST, when a mutation came by GET"),
});

/**
 * /graphql in the OpenAPI document. GraphQL answers are JSON whatever happened; a status that
 * middleware can also answer with a problem (400 for a broken body, 429, 401) documents both
 * media types, and every answer documents the edge, rate-limit and consistency headers.
 */
export const graphqlPaths = () => {
  const routeDocs = docs();
  const paths = openApiPaths("", routeDocs);
  const graphql = paths["/graphql"] as Record<string, Json>;
  for (const [method, operation] of Object.entries(graphql)) {
    const answers = routeDocs[`${method as "get" | "post"} /graphql`].responses as Record<
      string,
      Json
    >;
    const responses = operation.responses as Record<string, Json>;
    for (const [status, response] of Object.entries(responses)) {
      const mine = answers[status];
      const content = {
        ...((response.content as Json | undefined) ?? {}),
        ...((mine?.content as Json | undefined) ?? {}),
      };
      // Both answers' descriptions: GraphQL's own, and the problem codes middleware may answer.
      const description = [mine?.description, response.description]
        .filter((d, i, all) => d !== undefined && all.indexOf(d) === i)
        .join(". ");
      responses[status] = {
        ...response,
        description,
        ...(Object.keys(content).length > 0 ? { content } : {}),
        headers: { ...((response.headers as Json | undefined) ?? {}), ...answerHeaders() },
      };
    }
  }
  graphql.post!.requestBody = {
    required: true,
    content: {
      "application/json": {
        schema: {
          type: "object",
          properties: {
            query: { type: "string" },
            operationName: { type: ["string", "null"] },
            variables: { type: ["object", "null"] },
            extensions: { type: ["object", "null"] },
          },
        },
      },
    },
  };
  return paths;
};

/**
 * `/graphql`: GraphQL over HTTP on the engine. GET runs queries (and is cached at the edge
 * when its answer is public, like REST reads); POST runs queries and mutations. Auth is the
 * REST API's (the same middleware set the principal); an API key needs `write` for mutations.
 * Writes hand back a read-your-writes token, and the reads of a request that presents one go
 * to the primary.
 */
export function graphqlRoutes(load: LoadGraphQL, options: GraphQLRouteOptions) {
  const app = new Hono<AppEnv>();

  const answer = (c: Context<AppEnv>, body: Json, status: 200 | 400 | 403 | 405 | 500) =>
    c.body(JSON.stringify(body), status, { "content-type": "application/json; charset=utf-8" });

  async function handle(
    c: Context<AppEnv>,
    { engine, requestError }: GraphQLRuntime,
    request: GraphQLRequest,
    method: "GET" | "POST",
  ) {
    const query = await engine.queryOf(request);
    if (!query.ok) {
      const notFound = query.errors[0]?.extensions.code === "PERSISTED_QUERY_NOT_FOUND";
      // Apollo's persisted-query link retries with the full text on this answer (200).
      return answer(c, { errors: query.errors.map((e) => e.toJSON()) }, notFound ? 200 : 400);
    }
    const prepared = engine.prepare(query.value, request.operationName);
    if (!prepared.ok) return answer(c, { errors: prepared.errors.map((e) => e.toJSON()) }, 400);
    const principal = c.get("principal");
    const kind = prepared.value.operation.operation;
    if (kind !== "query" && method === "GET") {
      c.header("allow", "POST");
      return answer(
        c,
        { errors: [requestError("METHOD_NOT_ALLOWED", "Mutations need POST.").toJSON()] },
        405,
      );
    }
    if (kind === "subscription")
      return answer(
        c,
        { errors: [requestError("BAD_REQUEST", "Subscriptions are not served here.").toJSON()] },
        400,
      );
    if (kind === "mutation") {
      try {
        requireScope(principal, "write");
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        return answer(c, { errors: [requestError("FORBIDDEN", err.message).toJSON()] }, 403);
      }
    }
    let read = c.get("readOptions");
    if (method === "POST" && !read.fresh) {
      // A caller who just wrote reads its writes: its token sends reads to the primary.
      const token = decodeToken(
        c.req.header(consistencyHeader) ?? getCookie(c, consistencyCookie),
        c.get("platform").clock.now().getTime(),
        options.consistencyWindowMs,
      );
      if (token !== undefined) read = { fresh: true };
    }
    const services = c.get("services");
    const context: GraphQLContext = {
      principal,
      services,
      read,
      search: () => searchService(c.get("platform"), services.records.models),
      loader: new RelationLoader(services.records, principal, read),
      wrote: undefined,
      deletedFrom: new Set(),
    };
    const started = performance.now();
    const { result, internal, fast } = await engine.run(prepared.value, request.variables, context);
    // Server-Timing: how long executing took, and which path ran it (fast.ts or graphql-js).
    setMetric(c, "graphql", performance.now() - started, fast ? "fast" : "execute");
    // A 501/503 the engine chose (no embedder configured, a dependency down) is an expected
    // refusal, answered with its code and logged as a warning, as REST does; the rest is ours.
    const failed = internal.filter((err) => !(err instanceof ApiError && err.status !== 500));
    for (const err of internal) {
      c.get("platform").log.write({
        level: failed.includes(err) ? "error" : "warn",
        msg: "graphql execution failed",
        requestId: c.get("requestId"),
        error: err instanceof Error ? err.message : String(err),
      });
    }
    if (context.wrote !== undefined) c.set("wrote", context.wrote);
    // As REST's delete: the deletes enqueued their records' files (a trigger, same
    // transaction); remove them now rather than at the files job's next pass.
    const { files, records } = services;
    if ([...context.deletedFrom].some((name) => files.fieldsOf(records.target(name)).length > 0))
      c.get("platform").defer(c, files.sweep());
    const body: Json = {};
    if (result.errors) body.errors = result.errors.map((e) => e.toJSON());
    if ("data" in result) body.data = result.data;
    const executed = "data" in result;
    return answer(c, body, !executed ? 400 : failed.length > 0 ? 500 : 200);
  }

  app.get("/graphql", async (c) => {
    const graphql = await load();
    const { requestError } = graphql;
    const request = fromQueryString(c);
    if (!request.ok)
      return answer(c, { errors: [requestError("BAD_REQUEST", request.message).toJSON()] }, 400);
    const { query, extensions } = request.value;
    if (query === undefined && extensions === undefined) {
      if (options.introspection && (c.req.header("accept") ?? "").includes("text/html")) {
        c.header("content-security-policy", graphiqlPolicy);
        return c.html(graphiqlPage);
      }
      return answer(
        c,
        { errors: [requestError("BAD_REQUEST", "The request has no query.").toJSON()] },
        400,
      );
    }
    return handle(c, graphql, request.value, "GET");
  });

  app.get("/graphql/graphiql.js", (c) => {
    if (!options.introspection) throw new ApiError("NOT_FOUND", "GraphiQL is off here.");
    c.header("cache-control", "public, max-age=300");
    return c.body(graphiqlScript, 200, { "content-type": "text/javascript; charset=utf-8" });
  });

  app.post("/graphql", async (c) => {
    const graphql = await load();
    const { requestError } = graphql;
    const request = fromBody(await readJsonObject(c));
    if (!request.ok)
      return answer(c, { errors: [requestError("BAD_REQUEST", request.message).toJSON()] }, 400);
    return handle(c, graphql, request.value, "POST");
  });

  return app;
}
