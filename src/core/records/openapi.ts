import * as z from "zod/mini";
import type { ErrorCode } from "../kernel/errors";
import { problemResponses } from "../kernel/problem-docs";
import { tableShape } from "./column-schemas";
import { recordIdPattern } from "./ids";
import {
  defaultLimit,
  maxCursorLength,
  maxFieldList,
  maxLimit,
  maxSortKeys,
  maxSortLength,
  sortable,
} from "./list-params";
import type { CollectionModel, Models } from "./model";
import { maxBatch } from "./service";

type Json = Record<string, unknown>;

/** Problems every collection request can meet; each operation adds its own (from the one table). */
const common: ErrorCode[] = ["UNAUTHENTICATED", "FORBIDDEN", "RATE_LIMITED", "UNKNOWN_COLLECTION"];
const body: ErrorCode[] = [
  "INVALID_JSON",
  "VALIDATION_FAILED",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
];
const errorsFor = (...codes: ErrorCode[]) => problemResponses([...common, ...codes]);

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
const json = (schema: Json) => ({ "application/json": { schema } });

function schemaOf(schema: z.ZodMiniObject, io: "input" | "output"): Json {
  const json = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  delete json.$schema;
  return json;
}

/** Server-managed timestamps are ISO 8601 in UTC (`toISOString()`), which sort as text. */
const timestamps = ["created", "updated"];

/**
 * The stored record as readers get it: every readable field, typed by the same column schemas
 * (and `validate` refinements, e.g. `tags: string[]`) that writes are checked with.
 */
function readableProperties(model: CollectionModel): Json {
  const readable = new Set(model.readable);
  const select = z.object(
    tableShape(model.table, "select", model.def.options.validate, (k) => readable.has(k)),
  );
  const properties = schemaOf(select, "output").properties as Record<string, Json>;
  for (const key of timestamps) {
    if (properties[key]) properties[key] = { ...properties[key], format: "date-time" };
  }
  if (properties.id) properties.id = { ...properties.id, pattern: recordIdPattern.source };
  return properties;
}

/**
 * A collection's component schemas: the full record (every readable field; `expand` when
 * asked), the partial record a `?fields=` read answers with, and the write bodies.
 */
function recordSchemas(model: CollectionModel): Json {
  const properties = readableProperties(model);
  const relations = [...model.relations];
  const expand =
    relations.length === 0
      ? {}
      : {
          expand: {
            type: "object",
            description: "Related records asked for with ?expand= (null: gone or not visible)",
            properties: Object.fromEntries(
              relations.map(([key, target]) => [
                key,
                { anyOf: [schemaRef(`${target.name}Record`), { type: "null" }] },
              ]),
            ),
            additionalProperties: false,
          },
        };
  return {
    [`${model.name}Record`]: {
      type: "object",
      description: `A ${model.name} record: every field a client may read`,
      properties: { ...properties, ...expand },
      required: model.readable,
      additionalProperties: false,
    },
    [`${model.name}Partial`]: {
      type: "object",
      description: `A ${model.name} record with only the fields asked for (?fields=)`,
      properties: { ...properties, ...expand },
      additionalProperties: false,
    },
    [`${model.name}Create`]: schemaOf(model.createSchema, "input"),
    [`${model.name}Update`]: schemaOf(model.updateSchema, "input"),
  };
}

/**
 * A comma-separated list of names, as a regular expression (spaces around names are allowed).
 * `distinct` adds what sort checks: each name at most once, at most that many names.
 */
function listPattern(names: readonly string[], sign = "", distinct?: number): string {
  if (names.length === 0) return "^\\s*$";
  const item = `\\s*${sign}(?:${names.map((n) => n.replace(/[^\w]/g, "\\$&")).join("|")})\\s*`;
  const limits =
    distinct === undefined
      ? ""
      : `(?!(?:[^,]*,){${distinct}})(?!(?:[\\s\\S]*,)?\\s*${sign}(\\w+)\\s*,(?:[\\s\\S]*,)?\\s*${sign}\\1\\s*(?:,|$))`;
  return `^${limits}(?:\\s*|${item}(?:,${item})*)$`;
}

const pascal = (name: string) =>
  name.replace(/(^|[^A-Za-z0-9]+)([A-Za-z0-9])/g, (_, _sep, ch: string) => ch.toUpperCase());

/** The query parameters of collection reads, with their grammar and the collection's names. */
function readParameters(model: CollectionModel) {
  const relations = [...model.relations.keys()];
  // Encrypted fields hold ciphertext at rest: neither sortable nor filterable (400).
  const sortKeys = model.readable.filter(
    (k) => sortable(model.fields.get(k)!) && !model.encrypted.has(k),
  );
  const sealed = [...model.encrypted];
  const sealedNote =
    sealed.length === 0
      ? ""
      : ` Encrypted at rest, so refused in filters and sorts (400 INVALID_FILTER / INVALID_QUERY): ${sealed.join(", ")}.`;
  const q = (name: string, description: string, schema: Json, extra: Json = {}) => ({
    name,
    in: "query",
    required: false,
    description,
    schema,
    ...extra,
  });
  const fields = q(
    "fields",
    `Comma-separated fields to return (default: all): ${model.readable.join(", ")}. The answer then has only those.`,
    { type: "string", maxLength: maxFieldList, pattern: listPattern(model.readable) },
    { example: model.readable.slice(0, 2).join(",") },
  );
  const expand = q(
    "expand",
    relations.length === 0
      ? `${model.name} has no relations: empty or absent.`
      : `Comma-separated relations to embed under \`expand\` (each the related record, or null where it is gone or not visible): ${relations.join(", ")}`,
    { type: "string", maxLength: maxFieldList, pattern: listPattern(relations) },
    relations.length === 0 ? {} : { example: relations[0] },
  );
  const list = [
    q(
      "filter",
      `A filter expression: \`field op value\` joined with && and || and grouped with (); ops = != > >= < <= ~ !~ and the any-of forms ?= ?!= ?> ?>= ?< ?<= ?~ ?!~ for list fields; values are 'strings', numbers, true, false, null, @now, @request.auth.id. Date-times are ISO 8601 (\`2026-01-01T03:00:00Z\`; PocketBase's \`2026-01-01 03:00:00.000Z\` is read the same).${sealedNote}`,
      { type: "string", maxLength: 2048 },
      { example: "created > '2026-01-01T00:00:00Z'" },
    ),
    q(
      "sort",
      `Comma-separated fields, each with an optional - (descending) or + prefix; at most ${maxSortKeys}, no repeats (default -created; id breaks ties). Sortable: ${sortKeys.join(", ")}`,
      {
        type: "string",
        maxLength: maxSortLength,
        pattern: listPattern(sortKeys, "[-+]?", maxSortKeys),
      },
      { example: "-created" },
    ),
    fields,
    expand,
    q("limit", `Page size, 1–${maxLimit}`, {
      type: "integer",
      minimum: 1,
      maximum: maxLimit,
      default: defaultLimit,
    }),
    q("cursor", "The previous page's nextCursor (opaque; made for the same sort)", {
      type: "string",
      maxLength: maxCursorLength,
      pattern: "^[A-Za-z0-9_-]*$",
    }),
    q("total", "Include the total count of matching records (costs a count query)", {
      type: "boolean",
      default: false,
    }),
    ...(model.def.options.search === undefined
      ? []
      : [
          q(
            "q",
            `Full-text search over ${model.def.options.search.join(", ")}: only records containing every word (a word ending in * as a prefix), with the list rule and filter; the sort and cursors stay the list's (ranked results: the search operation).`,
            { type: "string", maxLength: 256 },
            { example: "quarterly report" },
          ),
        ]),
  ];
  return { list, view: [fields, expand] };
}

const readHeaders = {
  ETag: headerRef("ETag"),
  "Cache-Control": headerRef("CacheControl"),
  "X-Cache": headerRef("XCache"),
};

function collectionPaths(model: CollectionModel): Json {
  const name = pascal(model.name);
  const id = {
    name: "id",
    in: "path",
    required: true,
    description: "The record's id",
    schema: { type: "string", pattern: recordIdPattern.source },
  };
  const ifMatch = {
    name: "If-Match",
    in: "header",
    required: false,
    schema: { type: "string" },
    description: "An ETag from a read: the write happens only if the record is unchanged (412)",
  };
  const ifNoneMatch = {
    name: "If-None-Match",
    in: "header",
    required: false,
    schema: { type: "string" },
    description: "An ETag from an earlier read: 304 when the answer is the same",
  };
  const consistency = {
    name: "Nearbase-Consistency",
    in: "header",
    required: false,
    schema: { type: "string" },
    description:
      "The token a write answered with: this read then sees that write (read-your-writes)",
  };
  const notModified = {
    description: "Not modified (If-None-Match matched)",
    headers: readHeaders,
  };
  const written = (status: string, description: string, extra: Json = {}) => ({
    [status]: {
      description,
      headers: {
        ETag: headerRef("ETag"),
        "Nearbase-Consistency": headerRef("ConsistencyToken"),
        ...extra,
      },
      content: json(schemaRef(`${model.name}Record`)),
    },
  });
  const params = readParameters(model);
  const tags = [model.name];
  const record = schemaRef(`${model.name}Record`);
  const readable = { anyOf: [record, schemaRef(`${model.name}Partial`)] };
  return {
    [`/api/collections/${model.name}/records`]: {
      get: {
        tags,
        operationId: `list${name}`,
        summary: `List ${model.name}`,
        description: `Newest first by default; pages are \`limit\` + \`cursor\` (keyset). Unknown query parameters are refused (400 INVALID_QUERY naming them).`,
        parameters: [...params.list, ifNoneMatch, consistency],
        responses: {
          "200": {
            description: "A page of records",
            headers: readHeaders,
            content: json({
              type: "object",
              properties: {
                items: { type: "array", items: readable },
                nextCursor: {
                  type: ["string", "null"],
                  description: "Pass as ?cursor= for the next page; null on the last",
                },
                total: { type: "integer", minimum: 0, description: "With ?total=true" },
              },
              required: ["items", "nextCursor"],
              additionalProperties: false,
            }),
          },
          "304": notModified,
          ...errorsFor(
            "INVALID_FILTER",
            "INVALID_QUERY",
            "QUERY_TOO_EXPENSIVE",
            "MALFORMED_URI",
            "UNAVAILABLE",
          ),
        },
      },
      post: {
        tags,
        operationId: `create${name}`,
        summary: `Create a ${model.name} record`,
        requestBody: {
          required: true,
          content: json(schemaRef(`${model.name}Create`)),
        },
        responses: {
          ...written("201", "Created", { Location: headerRef("Location") }),
          ...errorsFor(...body, "CONFLICT"),
        },
      },
    },
    [`/api/collections/${model.name}/records/{id}`]: {
      get: {
        tags,
        operationId: `view${name}`,
        summary: `Read a ${model.name} record`,
        parameters: [id, ...params.view, ifNoneMatch, consistency],
        responses: {
          "200": {
            description: "The record (a weak ETag when only some fields were asked for)",
            headers: readHeaders,
            content: json(readable),
          },
          "304": notModified,
          ...errorsFor("NOT_FOUND", "INVALID_QUERY", "MALFORMED_URI", "UNAVAILABLE"),
        },
      },
      patch: {
        tags,
        operationId: `update${name}`,
        summary: `Update a ${model.name} record`,
        parameters: [id, ifMatch],
        requestBody: { required: true, content: json(schemaRef(`${model.name}Update`)) },
        responses: {
          ...written("200", "Updated"),
          ...errorsFor(...body, "NOT_FOUND", "CONFLICT", "PRECONDITION_FAILED", "MALFORMED_URI"),
        },
      },
      delete: {
        tags,
        operationId: `delete${name}`,
        summary: `Delete a ${model.name} record`,
        parameters: [id, ifMatch],
        responses: {
          "204": {
            description: "Deleted",
            headers: { "Nearbase-Consistency": headerRef("ConsistencyToken") },
          },
          ...errorsFor("NOT_FOUND", "PRECONDITION_FAILED", "MALFORMED_URI"),
        },
      },
    },
  };
}

/**
 * One batch operation per collection and method, each with the body schema that operation is
 * validated with (the collection's create or update schema), so a generated client can build
 * one and a validator can check it.
 */
function batchOperations(models: Models): Json[] {
  const id = { type: "string", pattern: recordIdPattern.source };
  return [...models.values()].flatMap((model) => {
    const collection = { const: model.name };
    const op = (method: string, properties: Json, required: string[]) => ({
      type: "object",
      title: `${method} ${model.name}`,
      properties: { method: { const: method }, collection, ...properties },
      required: ["method", "collection", ...required],
      additionalProperties: false,
    });
    return [
      op("POST", { body: schemaRef(`${model.name}Create`) }, ["body"]),
      op("PATCH", { id, body: schemaRef(`${model.name}Update`) }, ["id", "body"]),
      op("DELETE", { id }, ["id"]),
    ];
  });
}

function batchPath(models: Models): Json {
  const records = [...models.keys()].map((name) => schemaRef(`${name}Record`));
  return {
    post: {
      tags: ["batch"],
      operationId: "batch",
      summary: `Up to ${maxBatch} writes, all or nothing`,
      description:
        "The operations run in one transaction in order; if one is refused, none is applied and the problem names it (`/operations/N`).",
      requestBody: {
        required: true,
        content: json({
          type: "object",
          required: ["operations"],
          properties: {
            operations: {
              type: "array",
              minItems: 1,
              maxItems: maxBatch,
              items: { oneOf: batchOperations(models) },
            },
          },
          additionalProperties: false,
        }),
      },
      responses: {
        "200": {
          description: "Every operation applied: one result per operation, in order",
          headers: { "Nearbase-Consistency": headerRef("ConsistencyToken") },
          content: json({
            type: "object",
            required: ["results"],
            properties: {
              results: {
                type: "array",
                items: {
                  type: "object",
                  required: ["status"],
                  properties: {
                    status: {
                      enum: [200, 201, 204],
                      description: "201 created, 200 updated, 204 deleted",
                    },
                    body: { anyOf: records, description: "The written record (not for 204)" },
                  },
                  additionalProperties: false,
                },
              },
            },
            additionalProperties: false,
          }),
        },
        ...errorsFor(...body, "NOT_FOUND", "CONFLICT", "PRECONDITION_FAILED"),
      },
    },
  };
}

/**
 * The response headers the collections API sends, once (operations refer to them). The API's
 * other routes use the same components.
 */
export const headerComponents: Record<string, Json> = {
  ETag: {
    description: "The answer's entity tag (weak W/ when only some fields were asked for)",
    schema: { type: "string", pattern: '^(W/)?"[^"]*"$' },
  },
  Location: { description: "The new resource's URL", schema: { type: "string" } },
  CacheControl: {
    description: "Who may keep the answer, and how long",
    schema: { type: "string" },
  },
  XCache: {
    description:
      "What the shared cache did: HIT, STALE, MISS or BYPASS; STALE-IF-ERROR when the database cannot be reached and a kept answer is served",
    schema: { enum: ["HIT", "STALE", "MISS", "BYPASS", "STALE-IF-ERROR"] },
  },
  ConsistencyToken: {
    description:
      "Read-your-writes token: send it back as the Nearbase-Consistency request header (browsers also get the nb_consistency cookie)",
    schema: { type: "string" },
  },
  RateLimit: {
    description: 'Remaining budget, e.g. `"read";r=99;t=60` (draft-ietf-httpapi-ratelimit-headers)',
    schema: { type: "string" },
  },
  RateLimitPolicy: {
    description: 'The limit, e.g. `"read";q=100;w=60`',
    schema: { type: "string" },
  },
  RetryAfter: { description: "Seconds to wait", schema: { type: "string", pattern: "^\\d+$" } },
  WWWAuthenticate: { description: "Bearer challenge (RFC 6750)", schema: { type: "string" } },
  Allow: { description: "The methods the path takes", schema: { type: "string" } },
};

export const problemSchema: Json = {
  type: "object",
  description: "RFC 9457 problem details",
  required: ["type", "title", "status", "code"],
  properties: {
    type: { type: "string", format: "uri" },
    title: { type: "string" },
    status: { type: "integer" },
    code: { type: "string", description: "Stable machine-readable error code" },
    detail: { type: "string" },
    requestId: { type: "string" },
    errors: {
      type: "array",
      items: {
        type: "object",
        required: ["path", "message"],
        properties: { path: { type: "string" }, message: { type: "string" } },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
  example: {
    type: "https://nearbase.dev/problems/validation-failed",
    title: "Validation failed",
    status: 400,
    code: "VALIDATION_FAILED",
    detail: "1 field problem(s).",
    requestId: "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11",
    errors: [{ path: "/title", message: "Invalid input: expected string, received undefined" }],
  },
};

/** OpenAPI 3.1 for the collections API, generated from the collections at start. */
export function openApiDocument(models: Models, info: { title: string; version: string }): Json {
  const schemas: Json = { Problem: problemSchema };
  let paths: Json = {};
  for (const model of models.values()) {
    Object.assign(schemas, recordSchemas(model));
    paths = { ...paths, ...collectionPaths(model) };
  }
  paths["/api/batch"] = batchPath(models);
  return {
    openapi: "3.1.0",
    info,
    servers: [{ url: "/" }],
    security: [{ bearer: [] }, { apiKey: [] }, {}],
    components: {
      schemas,
      headers: headerComponents,
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "An access token from /api/auth (login, signup, refresh), or an API key sent as a bearer token",
        },
        apiKey: {
          type: "apiKey",
          in: "header",
          name: "x-api-key",
          description: "An API key from /api/keys: acts as its owner, within its scopes",
        },
      },
    },
    paths,
  };
}
