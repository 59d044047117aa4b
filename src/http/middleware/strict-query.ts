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
 * The query parameters each route takes, keyed `METHOD /hono/path` as the app registers it. They
 * are the names the route's OpenAPI entry documents — test/node/openapi.test.ts holds the two
 * equal and every documented route present here — kept as a plain table so the Workers home
 * checks requests without building the OpenAPI document (zod → JSON Schema) at start-up.
 */
export const queryParameters: Record<string, QueryRule> = {
  // The collections' reads take `q` only where search is on: list-params.ts checks per model.
  "GET /api/collections/:name/records": "handler",
  "GET /api/collections/:name/records/:id": "handler",
  "GET /api/collections/:name/search": "handler",
  "POST /api/collections/:name/records": [],
  "PATCH /api/collections/:name/records/:id": [],
  "DELETE /api/collections/:name/records/:id": [],
  "POST /api/batch": [],
  "GET /": [],
  "GET /openapi.json": [],
  "GET /docs": [],
  // GraphQL over HTTP's GET parameters (the body's fields, in the URL).
  "GET /graphql": ["query", "operationName", "variables", "extensions"],
  "POST /graphql": [],
  "GET /graphql/graphiql.js": [],
  "GET /health": [],
  "GET /ready": [],
  "GET /metrics": [],
  "GET /api/admin/stats": [],
  "GET /.well-known/jwks.json": [],
  "GET /.well-known/openid-configuration": [],
  "POST /api/auth/signup": ["cookie"],
  "POST /api/auth/login": ["cookie"],
  "POST /api/auth/refresh": ["cookie"],
  "POST /api/auth/logout": [],
  "POST /api/auth/logout-all": [],
  "GET /api/auth/me": [],
  "GET /api/auth/sessions": [],
  "DELETE /api/auth/sessions/:id": [],
  "POST /api/auth/password/forgot": [],
  "POST /api/auth/password/reset": [],
  "POST /api/auth/password/change": [],
  "POST /api/auth/email/verify/request": [],
  "POST /api/auth/email/verify/confirm": [],
  "GET /api/auth/oauth/:provider/start": ["redirect"],
  // The provider sends the browser back with its own parameters: state and code, and on its
  // terms error, error_description, error_uri, iss (RFC 9207), scope, authuser, hd, prompt…
  "GET /api/auth/oauth/:provider/callback": "foreign",
  // The provider's form POST (Apple's form_post): its request, not one a client of ours builds.
  "POST /api/auth/oauth/:provider/callback": "foreign",
  "POST /api/auth/oauth/exchange": ["cookie"],
  "POST /api/auth/otp/request": [],
  "POST /api/auth/otp/verify": [],
  "POST /api/auth/passkeys/register/options": [],
  "POST /api/auth/passkeys/register": [],
  "POST /api/auth/passkeys/sign-up/options": [],
  "POST /api/auth/passkeys/sign-up": [],
  "POST /api/auth/passkeys/sign-in/options": [],
  "POST /api/auth/passkeys/sign-in": [],
  "GET /api/auth/passkeys": [],
  "PATCH /api/auth/passkeys/:id": [],
  "DELETE /api/auth/passkeys/:id": [],
  "GET /api/auth/methods": [],
  "GET /api/auth/mfa": [],
  "POST /api/auth/mfa/totp/enroll": [],
  "POST /api/auth/mfa/totp/confirm": [],
  "POST /api/auth/mfa/totp/disable": [],
  "POST /api/auth/mfa/recovery-codes": [],
  "POST /api/auth/mfa/verify": ["cookie"],
  "POST /api/auth/step-up": [],
  "POST /api/auth/step-up/passkey/options": [],
  "POST /api/auth/step-up/passkey": [],
  "POST /api/keys": [],
  "GET /api/keys": [],
  "DELETE /api/keys/:id": [],
  "POST /api/webhooks": [],
  "GET /api/webhooks": [],
  "GET /api/webhooks/:id": [],
  "PATCH /api/webhooks/:id": [],
  "DELETE /api/webhooks/:id": [],
  "POST /api/webhooks/:id/rotate-secret": [],
  "POST /api/webhooks/:id/test": [],
  "GET /api/webhooks/:id/deliveries": ["status", "limit"],
  "GET /api/webhooks/:id/deliveries/:deliveryId": [],
  "POST /api/webhooks/:id/deliveries/:deliveryId/replay": [],
  "POST /api/webhooks/:id/replay": [],
  "GET /api/me/export": [],
  "DELETE /api/me": [],
  "GET /api/admin/users/:id/export": [],
  "POST /api/admin/users/:id/erase": [],
  "GET /api/admin/privacy/retention": [],
  "POST /api/admin/privacy/retention": [],
  "GET /api/admin/audit": ["filter", "limit", "cursor"],
  "GET /api/admin/users": ["email", "role", "cursor", "limit"],
  "GET /api/admin/users/:id": [],
  "PATCH /api/admin/users/:id": [],
  "DELETE /api/admin/users/:id": [],
  "DELETE /api/admin/users/:id/sessions": [],
  "DELETE /api/admin/users/:id/sessions/:sessionId": [],
  "POST /api/admin/users/:id/password-reset": [],
  "GET /api/realtime": ["topic", "since"],
  "POST /api/realtime/:clientId/subscriptions": [],
  "POST /api/files/token": [],
  "GET /api/files/:collection/:record/:name": ["token", "thumb", "download"],
};

/**
 * The rule for an operation of the OpenAPI document (`get`, `/api/keys/{id}`); a collection's
 * own path (`/api/collections/posts/records`) takes its route's (`/api/collections/:name/…`).
 */
export function queryRuleOf(method: string, openApiPath: string): QueryRule | undefined {
  const path = openApiPath.replace(/\{(\w+)\}/g, ":$1");
  const verb = method.toUpperCase();
  return (
    queryParameters[`${verb} ${path}`] ??
    queryParameters[
      `${verb} ${path.replace(/^\/api\/collections\/[^/:]+\//, "/api/collections/:name/")}`
    ]
  );
}

/**
 * Refuses query parameters a route does not take (400 INVALID_QUERY naming them), so a client's
 * typo or another API's parameter (`?page=2`, `?expand=` where there is none) never silently
 * changes nothing. The route is the handler Hono matched; routes not in the table (the admin
 * UI's pages, the passkey test page) and requests without a query string pass untouched.
 */
export function strictQuery(
  rules: Record<string, QueryRule> = queryParameters,
): MiddlewareHandler<AppEnv> {
  return async function strictQuery(c, next) {
    const mark = c.req.url.indexOf("?");
    if (mark === -1 || mark === c.req.url.length - 1) return next();
    // HEAD is dispatched as GET, so its route is the GET one.
    const route = matchedRoutes(c).find((r) => r.method !== "ALL");
    const rule = route === undefined ? undefined : rules[`${route.method} ${route.path}`];
    if (rule === undefined || typeof rule === "string") return next();
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
