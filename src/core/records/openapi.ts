import { createSelectSchema } from "drizzle-zod";
import { type ZodObject, z } from "zod";
import type { ErrorCode } from "../kernel/errors";
import { problemResponses } from "../kernel/problem-docs";
import { maxLimit, sortable } from "./list-params";
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

function schemaOf(schema: ZodObject, io: "input" | "output"): Json {
  const json = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  delete json.$schema;
  return json;
}

function recordSchema(model: CollectionModel): Json {
  const select = (createSelectSchema(model.table) as unknown as ZodObject).pick(
    Object.fromEntries(model.readable.map((k) => [k, true])) as never,
  );
  return schemaOf(select, "output");
}

function collectionPaths(model: CollectionModel): Json {
  const ref = (suffix: string) => ({ $ref: `#/components/schemas/${model.name}${suffix}` });
  const id = { name: "id", in: "path", required: true, schema: { type: "string" } };
  const q = (name: string, description: string, schema: Json = { type: "string" }) => ({
    name,
    in: "query",
    description,
    schema,
  });
  const json = (schema: Json) => ({ "application/json": { schema } });
  const tags = [model.name];
  return {
    [`/api/collections/${model.name}/records`]: {
      get: {
        tags,
        summary: `List ${model.name}`,
        parameters: [
          q("filter", "Filter expression, e.g. title ~ 'edge' && created > '2026-01-01'"),
          q(
            "sort",
            `Comma-separated fields, - for descending (default -created). Sortable: ${model.readable.filter((k) => sortable(model.fields.get(k)!)).join(", ")}`,
          ),
          q("fields", `Comma-separated fields to return: ${model.readable.join(", ")}`),
          q("expand", `Relations to embed: ${[...model.relations.keys()].join(", ") || "(none)"}`),
          q("limit", `Page size, 1–${maxLimit}`, {
            type: "integer",
            minimum: 1,
            maximum: maxLimit,
            default: 30,
          }),
          q("cursor", "Opaque cursor from the previous page's nextCursor"),
          q("total", "Include the total count", { type: "boolean" }),
        ],
        responses: {
          "200": {
            description: "A page of records",
            content: json({
              type: "object",
              properties: {
                items: { type: "array", items: ref("Record") },
                nextCursor: { type: ["string", "null"] },
                total: { type: "integer" },
              },
              required: ["items", "nextCursor"],
            }),
          },
          ...errorsFor("INVALID_FILTER", "INVALID_QUERY", "QUERY_TOO_EXPENSIVE", "MALFORMED_URI"),
        },
      },
      post: {
        tags,
        summary: `Create a ${model.name} record`,
        requestBody: { required: true, content: json(ref("Create")) },
        responses: {
          "201": { description: "Created", content: json(ref("Record")) },
          ...errorsFor(...body, "CONFLICT"),
        },
      },
    },
    [`/api/collections/${model.name}/records/{id}`]: {
      get: {
        tags,
        summary: `Read a ${model.name} record`,
        parameters: [id, q("fields", "Fields to return"), q("expand", "Relations to embed")],
        responses: {
          "200": { description: "The record (ETag header)", content: json(ref("Record")) },
          "304": { description: "Not modified" },
          ...errorsFor("NOT_FOUND", "INVALID_QUERY", "QUERY_TOO_EXPENSIVE", "MALFORMED_URI"),
        },
      },
      patch: {
        tags,
        summary: `Update a ${model.name} record`,
        parameters: [
          id,
          {
            name: "If-Match",
            in: "header",
            schema: { type: "string" },
            description: "ETag from a read; 412 if the record changed",
          },
        ],
        requestBody: { required: true, content: json(ref("Update")) },
        responses: {
          "200": { description: "Updated", content: json(ref("Record")) },
          ...errorsFor(...body, "NOT_FOUND", "CONFLICT", "PRECONDITION_FAILED"),
        },
      },
      delete: {
        tags,
        summary: `Delete a ${model.name} record`,
        parameters: [id, { name: "If-Match", in: "header", schema: { type: "string" } }],
        responses: {
          "204": { description: "Deleted" },
          ...errorsFor("NOT_FOUND", "PRECONDITION_FAILED"),
        },
      },
    },
  };
}

/** OpenAPI 3.1 for the whole API, generated once from the collections at start. */
export function openApiDocument(models: Models, info: { title: string; version: string }): Json {
  const schemas: Json = {
    Problem: {
      type: "object",
      description: "RFC 9457 problem details",
      required: ["type", "title", "status", "code"],
      properties: {
        type: { type: "string" },
        title: { type: "string" },
        status: { type: "integer" },
        code: { type: "string", description: "Stable machine-readable error code" },
        detail: { type: "string" },
        requestId: { type: "string" },
        errors: {
          type: "array",
          items: {
            type: "object",
            properties: { path: { type: "string" }, message: { type: "string" } },
          },
        },
      },
    },
  };
  let paths: Json = {};
  for (const model of models.values()) {
    schemas[`${model.name}Record`] = recordSchema(model);
    schemas[`${model.name}Create`] = schemaOf(model.createSchema, "input");
    schemas[`${model.name}Update`] = schemaOf(model.updateSchema, "input");
    paths = { ...paths, ...collectionPaths(model) };
  }
  paths["/api/batch"] = {
    post: {
      tags: ["batch"],
      summary: `Up to ${maxBatch} writes, all or nothing`,
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: {
              type: "object",
              required: ["operations"],
              properties: {
                operations: {
                  type: "array",
                  maxItems: maxBatch,
                  items: {
                    type: "object",
                    required: ["method", "collection"],
                    properties: {
                      method: { enum: ["POST", "PATCH", "DELETE"] },
                      collection: { type: "string" },
                      id: { type: "string" },
                      body: { type: "object" },
                    },
                  },
                },
              },
            },
          },
        },
      },
      responses: {
        "200": { description: "Every operation applied" },
        ...errorsFor(...body, "NOT_FOUND", "CONFLICT", "PRECONDITION_FAILED"),
      },
    },
  };
  return {
    openapi: "3.1.0",
    info,
    servers: [{ url: "/" }],
    security: [{ bearer: [] }, {}],
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT or API key" },
      },
    },
    paths,
  };
}
