import { addMultipartBodies } from "../core/files/openapi";
import { type ErrorCode, toProblem } from "../core/kernel/errors";
import { addExamples } from "../core/kernel/examples";
import { problemResponses } from "../core/kernel/problem-docs";
import type { Models } from "../core/records/model";
import { headerComponents, openApiDocument, problemSchema } from "../core/records/openapi";
import { searchPaths } from "../core/search/openapi";
import { graphqlPaths } from "./graphql";
import { queryRuleOf } from "./middleware/strict-query";
import { adminUserPaths } from "./routes/admin-users";
import { auditPaths } from "./routes/audit";
import { authPaths } from "./routes/auth";
import { docsPaths } from "./routes/docs";
import { filePaths } from "./routes/files";
import { healthPaths } from "./routes/health";
import { apiKeyPaths } from "./routes/keys";
import { mfaPaths } from "./routes/mfa";
import { oauthPaths } from "./routes/oauth";
import { observabilityPaths } from "./routes/observability";
import { otpPaths } from "./routes/otp";
import { passkeyPaths } from "./routes/passkeys";
import { privacyPaths } from "./routes/privacy";
import { realtimePaths } from "./routes/realtime";
import { recoveryPaths } from "./routes/recovery";
import { webhookPaths } from "./routes/webhooks";
import { wellKnownPaths } from "./routes/well-known";

/** Where the app reads it from; kept here too for the tests and tools that import it so. */
export { credentialFreePaths } from "./credential-free";

type Json = Record<string, unknown>;

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

const description = `Nearbase's HTTP API. Errors are \`application/problem+json\` (RFC 9457) with a stable \`code\`.

- **Authentication**: an access token (\`Authorization: Bearer …\`, from /api/auth/login, signup or refresh) or an API key (\`x-api-key\`, or as a bearer token). A credential that is sent is checked: a stale one is 401 even on public routes, except /health, /ready, /openapi.json, /docs and /.well-known/*, which never read credentials.
- **Refresh-token cookie** (browsers): add \`?cookie=1\` to signup, login, refresh or oauth/exchange and the refresh token comes as an HttpOnly, Secure, SameSite=Strict cookie (\`nb_refresh\`, path /api/auth) instead of in the body; POST /api/auth/refresh?cookie=1 with \`{}\` then reads it from the cookie, and logout clears it.
- **Query parameters**: every operation refuses query parameters it does not document (400 INVALID_QUERY naming them), except the OAuth callbacks, whose parameters are the provider's. Pages are \`limit\` + the previous page's \`nextCursor\` (no page/perPage).
- **Methods**: a method a path does not take is answered 405 METHOD_NOT_ALLOWED with an \`Allow\` header (see components.responses.MethodNotAllowed).
- **Rate limits**: every /api/* answer carries \`RateLimit\` and \`RateLimit-Policy\`; 429 carries \`Retry-After\`.
- **Read-your-writes**: a write answers with \`Nearbase-Consistency\`; send it back on reads.`;

const tagDescriptions: Record<string, string> = {
  auth: "Accounts: sign-up, sign-in, tokens, sessions, password and email flows, OAuth",
  "api keys": "A signed-in user's API keys",
  batch: "Atomic multi-record writes",
  webhooks: "Webhook endpoints and deliveries (admins)",
  privacy: "Data export, erasure and retention (GDPR/CCPA)",
  audit: "The append-only audit log (admins)",
  operations: "Health, readiness, metrics and statistics",
  discovery: "Public keys and discovery metadata",
  docs: "This document and its reference page",
  graphql: "GraphQL over the collections (schema: npm run graphql:schema)",
  files: "Files on records: downloads and tokens for protected files",
};

/**
 * The whole API's OpenAPI 3.1 document: the collections part, generated from the models (and
 * batch), plus the `paths` every other route module exports next to its routes; then what holds
 * across routes (rate-limit headers on /api/*, Retry-After on 503, the 405 answer, tags).
 */
export function apiDocument(models: Models): Record<string, unknown> {
  const base = openApiDocument(models, { title: "Nearbase API", version: "0.1.0" });
  const paths: Record<string, Json> = { ...(base.paths as Record<string, Json>) };
  const documented = new Set<string>();
  for (const module of [
    docsPaths(),
    graphqlPaths(),
    healthPaths(),
    observabilityPaths(),
    wellKnownPaths(),
    authPaths(),
    recoveryPaths(),
    oauthPaths(),
    otpPaths(),
    passkeyPaths(),
    mfaPaths(),
    apiKeyPaths(),
    webhookPaths(),
    privacyPaths(),
    auditPaths(),
    adminUserPaths(),
    realtimePaths(),
    filePaths(),
  ]) {
    for (const [path, operations] of Object.entries(module)) {
      // Two modules may serve one path with different methods (they are mounted side by side).
      paths[path] = documented.has(path) ? { ...paths[path], ...operations } : operations;
      documented.add(path);
    }
  }
  addMultipartBodies(paths, models);
  Object.assign(paths, searchPaths(models));
  const tags = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!methods.includes(method)) continue;
      const operation = op as { tags?: string[]; responses: Record<string, Json> };
      for (const tag of operation.tags ?? []) tags.add(tag);
      const rule = queryRuleOf(method, path);
      if (rule !== undefined && rule !== "foreign") withInvalidQuery(operation.responses);
      for (const [status, response] of Object.entries(operation.responses)) {
        operation.responses[status] = withCommonHeaders(path, status, response);
      }
    }
  }
  const components = base.components as Json;
  const document = {
    ...base,
    info: { ...(base.info as Json), description },
    tags: [...tags].map((name) => ({
      name,
      description: tagDescriptions[name] ?? `The ${name} collection`,
    })),
    paths,
    components: {
      ...components,
      schemas: { ...(components.schemas as Json), Problem: problemSchema },
      headers: headerComponents,
      responses: {
        MethodNotAllowed: {
          description:
            "The path exists but does not take this method (any method an operation is not documented for)",
          headers: { Allow: { $ref: "#/components/headers/Allow" } },
          content: {
            "application/problem+json": {
              schema: {
                allOf: [
                  { $ref: "#/components/schemas/Problem" },
                  { type: "object", properties: { code: { const: "METHOD_NOT_ALLOWED" } } },
                ],
              },
            },
          },
        },
      },
    },
  };
  addExamples(
    document,
    Object.fromEntries([...models].map(([name, m]) => [name, m.def.options.idPrefix])),
    (code) => toProblem(code as ErrorCode, undefined, "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11"),
  );
  return document;
}

/**
 * Adds INVALID_QUERY to an operation's 400 answer (src/http/middleware/strict-query.ts refuses
 * unknown query parameters before the handler runs), beside the problems it already documents.
 */
function withInvalidQuery(responses: Record<string, Json>): void {
  const existing = responses["400"] as
    | { description: string; content?: Record<string, { schema?: { allOf?: Json[] } }> }
    | undefined;
  const problem = existing?.content?.["application/problem+json"]?.schema?.allOf?.[1] as
    | { properties?: { code?: { enum?: ErrorCode[] } } }
    | undefined;
  const codes = problem?.properties?.code?.enum ?? [];
  if (codes.includes("INVALID_QUERY")) return;
  const documented = problemResponses(["INVALID_QUERY"])["400"] as {
    description: string;
    content: Json;
  };
  if (existing === undefined) responses["400"] = documented;
  else if (problem !== undefined) {
    // Only the problem part changes: another type beside it (GraphQL's errors) stays.
    const before = problemResponses(codes)["400"] as { description: string };
    const after = problemResponses([...codes, "INVALID_QUERY"])["400"] as typeof documented;
    responses["400"] = {
      ...existing,
      description: existing.description.replace(before.description, after.description),
      content: { ...existing.content, ...after.content },
    };
  }
  // A 400 in another format (GraphQL's own errors): the problem joins it as a second type.
  else
    responses["400"] = {
      ...existing,
      description: `${existing.description}; or ${documented.description}`,
      content: { ...existing.content, ...documented.content },
    };
}

/** Headers that every answer of a kind carries, whatever the route. */
function withCommonHeaders(path: string, status: string, response: Json): Json {
  const headers: Json = { ...(response.headers as Json | undefined) };
  if (path.startsWith("/api/")) {
    headers.RateLimit = { $ref: "#/components/headers/RateLimit" };
    headers["RateLimit-Policy"] = { $ref: "#/components/headers/RateLimitPolicy" };
  }
  if (status === "429" || status === "503")
    headers["Retry-After"] = { $ref: "#/components/headers/RetryAfter" };
  // Inline: beside a $ref only summary and description count (`required` would be ignored).
  if (/^3\d\d$/.test(status) && status !== "304")
    headers.Location = { ...headerComponents.Location, required: true };
  if (status === "412")
    headers.ETag = {
      $ref: "#/components/headers/ETag",
      description: "The current ETag, to retry with",
    };
  if (status === "401")
    headers["WWW-Authenticate"] = { $ref: "#/components/headers/WWWAuthenticate" };
  return Object.keys(headers).length === 0 ? response : { ...response, headers };
}
