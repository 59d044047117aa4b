import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { ApiError } from "../../core/kernel/errors";
import type { AppEnv } from "../context";

/**
 * Who checks a route's query string: the names it takes (this middleware refuses any other),
 * "handler" (the route's handler refuses unknown names itself, because they differ by
 * collection), or "foreign" (the parameters are someone else's, so none is refused).
 */
export type QueryRule = readonly string[] | "handler" | "foreign";

/**
 * The query parameters of the routes that take any, keyed `METHOD /hono/path` as the app
 * registers it; every other route takes none. They are the names the route's OpenAPI entry
 * documents — test/node/openapi.test.ts holds the two equal for every documented route — kept
 * as a plain table so the Workers home checks requests without building the OpenAPI document
 * (zod → JSON Schema) at start-up.
 */
export const queryParameters: Record<string, QueryRule> = {
  // The collections' reads take `q` only where search is on: list-params.ts checks per model.
  "GET /api/collections/:name/records": "handler",
  "GET /api/collections/:name/records/:id": "handler",
  "GET /api/collections/:name/search": "handler",
  // GraphQL over HTTP's GET parameters (the body's fields, in the URL).
  "GET /graphql": ["query", "operationName", "variables", "extensions"],
  "POST /api/auth/signup": ["cookie"],
  "POST /api/auth/login": ["cookie"],
  "POST /api/auth/refresh": ["cookie"],
  "GET /api/auth/oauth/:provider/start": ["redirect"],
  // The provider sends the browser back with its own parameters: state and code, and on its
  // terms error, error_description, error_uri, iss (RFC 9207), scope, authuser, hd, prompt…
  "GET /api/auth/oauth/:provider/callback": "foreign",
  // The provider's form POST (Apple's form_post): its request, not one a client of ours builds.
  "POST /api/auth/oauth/:provider/callback": "foreign",
  "POST /api/auth/oauth/exchange": ["cookie"],
  "POST /api/auth/mfa/verify": ["cookie"],
  "GET /api/webhooks/:id/deliveries": ["status", "limit"],
  "GET /api/admin/audit": ["filter", "limit", "cursor"],
  "GET /api/admin/users": ["email", "role", "cursor", "limit"],
  "GET /api/realtime": ["topic", "since"],
  "GET /api/files/:collection/:record/:name": ["token", "thumb", "download"],
};

/** A route the table does not name takes no query parameters. */
const none: readonly string[] = [];

/**
 * The rule for an operation of the OpenAPI document (`get`, `/api/keys/{id}`); a collection's
 * own path (`/api/collections/posts/records`) takes its route's (`/api/collections/:name/…`).
 */
export function queryRuleOf(method: string, openApiPath: string): QueryRule {
  const path = openApiPath.replace(/\{(\w+)\}/g, ":$1");
  const verb = method.toUpperCase();
  return (
    queryParameters[`${verb} ${path}`] ??
    queryParameters[
      `${verb} ${path.replace(/^\/api\/collections\/[^/:]+\//, "/api/collections/:name/")}`
    ] ??
    none
  );
}

/**
 * Refuses query parameters a route does not take (400 INVALID_QUERY naming them), so a client's
 * typo or another API's parameter (`?page=2`, `?expand=` where there is none) never silently
 * changes nothing. The route is the first handler Hono matched (middleware-only paths such as
 * the admin UI's pass); requests without a query string pass untouched.
 */
export function strictQuery(
  rules: Record<string, QueryRule> = queryParameters,
): MiddlewareHandler<AppEnv> {
  return async function strictQuery(c, next) {
    const mark = c.req.url.indexOf("?");
    if (mark === -1 || mark === c.req.url.length - 1) return next();
    // HEAD is dispatched as GET, so its route is the GET one.
    const route = matchedRoutes(c).find((r) => r.method !== "ALL");
    if (route === undefined) return next();
    const rule = rules[`${route.method} ${route.path}`] ?? none;
    if (typeof rule === "string") return next();
    const unknown = Object.keys(c.req.queries()).filter((name) => !rule.includes(name));
    if (unknown.length > 0) throw unknownParameters(unknown, rule);
    return next();
  };
}

function unknownParameters(unknown: string[], known: readonly string[]): ApiError {
  const named = unknown.map((n) => JSON.stringify(n.slice(0, 64))).join(", ");
  return new ApiError(
    "INVALID_QUERY",
    `Unknown query parameter${unknown.length > 1 ? "s" : ""} ${named}; this request takes ${
      known.length === 0 ? "no query parameters" : known.join(", ")
    }.`,
    {
      errors: unknown.slice(0, 20).map((n) => ({
        path: `/${n.slice(0, 64)}`,
        message: "unknown query parameter",
      })),
    },
  );
}
