import type * as z from "zod/mini";
import type { ErrorCode } from "../core/kernel/errors";
import { jsonSchema, problemResponses } from "../core/kernel/problem-docs";

export { jsonSchema, problemResponses };

type Json = Record<string, unknown>;
type Method = "get" | "post" | "put" | "patch" | "delete";

/** One successful answer: a JSON body (from a zod schema), other content, or none. */
export interface AnswerDoc {
  description: string;
  /** The JSON body's schema (output side): any zod schema, zod/mini or classic. */
  schema?: z.core.$ZodType;
  /** Any other content, as OpenAPI media types. */
  content?: Json;
  headers?: Json;
  /** An example of the JSON body. */
  example?: unknown;
}

/**
 * What a route module says about one of its routes, next to the route. Error responses are not
 * written by hand: they come from the codes listed in `raises` plus the codes the request's own
 * shape brings (a JSON body, a required sign-in), with statuses and titles from the one error
 * table (src/core/kernel/errors.ts).
 */
export interface RouteDoc {
  /** Unique across the API; derived from the method and path when absent (`postApiAuthSignup`). */
  operationId?: string;
  summary: string;
  description?: string;
  tags: string[];
  /** The JSON body, the same schema the operation validates with (input side). */
  body?: z.core.$ZodType;
  /**
   * "user": needs an access token (401 without); "admin": an admin's (403 for others);
   * "public": anyone, though a credential sent is checked (a stale one is 401); "none": served
   * before authentication, credentials are not even read (never 401).
   */
  auth?: "public" | "user" | "admin" | "none";
  /** An example of the JSON body. */
  example?: unknown;
  parameters?: Json[];
  responses: Record<string, AnswerDoc>;
  /** Problem codes the operation itself can raise. */
  raises?: readonly ErrorCode[];
}

/**
 * A route module's routes: `"post /signup"` (Hono path syntax, relative to its mount point).
 * Modules build theirs in a function, `const docs = () => ({…}) satisfies RouteDocs`, called
 * only when the document is built: the Worker script never builds it (it serves the build's
 * static copy), so it carries none of the docs and their doc-only schemas (-7 KiB gzip).
 */
export type RouteDocs = Record<`${Method} /${string}`, RouteDoc>;

/** Problems a request that reads credentials can meet: a wrong one (401). */
const authenticated: ErrorCode[] = ["UNAUTHENTICATED"];
/** Only /api/* is rate limited (src/http/middleware/rate-limit.ts). */
const rateLimited = (path: string): ErrorCode[] =>
  path.startsWith("/api/") ? ["RATE_LIMITED"] : [];
/** Problems of reading a JSON body. */
const jsonBody: ErrorCode[] = [
  "INVALID_JSON",
  "VALIDATION_FAILED",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
];
/** `post /api/auth/sessions/{id}` → `postApiAuthSessionsById`. */
export function operationIdOf(method: string, path: string): string {
  const words = path
    .split("/")
    .filter(Boolean)
    .map((part) => {
      const param = /^\{(\w+)\}$/.exec(part)?.[1];
      return param ? `By-${param}` : part;
    })
    .join("-")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

const securityOf = {
  // API keys act as their owner, never as an admin.
  admin: [{ bearer: [] }],
  user: [{ bearer: [] }, { apiKey: [] }],
  none: [],
};

function operation(doc: RouteDoc, method: string, path: string, pathParams: string[]): Json {
  const codes: ErrorCode[] = [
    ...(doc.auth === "none" ? [] : authenticated),
    ...rateLimited(path),
    ...(doc.raises ?? []),
  ];
  if (doc.body !== undefined) codes.push(...jsonBody);
  if (doc.auth === "admin") codes.push("FORBIDDEN");
  const responses: Json = {};
  for (const [status, answer] of Object.entries(doc.responses)) {
    responses[status] = {
      description: answer.description,
      ...(answer.headers ? { headers: answer.headers } : {}),
      ...(answer.schema
        ? {
            content: {
              "application/json": {
                schema: jsonSchema(answer.schema, "output"),
                ...(answer.example === undefined ? {} : { example: answer.example }),
              },
            },
          }
        : answer.content
          ? { content: answer.content }
          : {}),
    };
  }
  const parameters = [
    ...pathParams.map((name) => ({
      name,
      in: "path",
      required: true,
      schema: { type: "string" },
    })),
    ...(doc.parameters ?? []),
  ];
  return {
    tags: doc.tags,
    operationId: doc.operationId ?? operationIdOf(method, path),
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    ...(doc.auth !== undefined && doc.auth !== "public" ? { security: securityOf[doc.auth] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body
      ? {
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: jsonSchema(doc.body, "input"),
                ...(doc.example === undefined ? {} : { example: doc.example }),
              },
            },
          },
        }
      : {}),
    responses: { ...responses, ...problemResponses(codes) },
  };
}

/**
 * A route module's OpenAPI `paths`, under the prefix it is mounted at. Hono's `:name` path
 * parameters become `{name}` and are documented as required strings.
 */
export function openApiPaths(prefix: string, docs: RouteDocs): Record<string, Json> {
  const paths: Record<string, Json> = {};
  for (const [key, doc] of Object.entries(docs) as [string, RouteDoc][]) {
    const [method, path] = key.split(" ") as [Method, string];
    const full = `${prefix}${path === "/" && prefix !== "" ? "" : path}`;
    const params = [...full.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    const openApiPath = full.replace(/:(\w+)/g, "{$1}");
    paths[openApiPath] = {
      ...paths[openApiPath],
      [method]: operation(doc, method, openApiPath, params),
    };
  }
  return paths;
}
