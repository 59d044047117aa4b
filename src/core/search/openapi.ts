import { problemResponses } from "../kernel/problem-docs";
import type { Models } from "../records/model";
import { defaultK, maxK } from "./service";

type Json = Record<string, unknown>;

const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
/** What every read answers with, as on the collection's list (shared cache, ETag). */
const readHeaders = {
  ETag: headerRef("ETag"),
  "Cache-Control": headerRef("CacheControl"),
  "X-Cache": headerRef("XCache"),
};

const pascal = (s: string) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");

/** `GET /api/collections/<name>/search` for every collection declaring `search` or `vector`. */
export function searchPaths(models: Models): Record<string, Json> {
  const paths: Record<string, Json> = {};
  for (const model of models.values()) {
    const { search, vector } = model.def.options;
    if (search === undefined && vector === undefined) continue;
    const modes = [
      ...(search ? ["keyword"] : []),
      ...(vector ? ["semantic"] : []),
      ...(search && vector ? ["hybrid"] : []),
    ];
    const param = (name: string, description: string, schema: Json) => ({
      name,
      in: "query",
      required: false,
      description,
      schema,
    });
    paths[`/api/collections/${model.name}/search`] = {
      get: {
        tags: [model.name],
        operationId: `search${pascal(model.name)}`,
        summary: `Search ${model.name}`,
        description:
          "Ranked results the caller may list (the list rule and `filter` apply to every candidate), best first. Keyword: FTS5 bm25; semantic: vector distance (libSQL vector index, completed exactly when the rule leaves too few); hybrid: both fused by reciprocal rank (k = 60). Shared at the edge like the collection's list when the list rule and `filter` do not read the caller (or for every anonymous caller); the embedding job's status updates move the cache version like writes. README \"Search\".",
        parameters: [
          param(
            "q",
            `What to look for (at most 256 characters); exactly one of q and near.${search ? ` Keyword matching over ${search.join(", ")}.` : ""}`,
            { type: "string", maxLength: 256 },
          ),
          ...(vector
            ? [
                param(
                  "near",
                  "A record id (that the caller may view): records nearest to it, itself excluded",
                  { type: "string", maxLength: 64 },
                ),
              ]
            : []),
          param(
            "mode",
            `Default: ${modes.includes("hybrid") ? "hybrid" : modes[0]} (semantic with near)`,
            { type: "string", enum: modes },
          ),
          param("k", `How many results, 1–${maxK}`, {
            type: "integer",
            minimum: 1,
            maximum: maxK,
            default: defaultK,
          }),
          param("filter", "A filter expression, as on the list operation", {
            type: "string",
            maxLength: 2048,
          }),
          param("fields", "Comma-separated fields to return (default: all readable)", {
            type: "string",
            maxLength: 1000,
          }),
          {
            name: "If-None-Match",
            in: "header",
            required: false,
            schema: { type: "string" },
            description: "An ETag from an earlier read: 304 when the answer is the same",
          },
          {
            name: "Nearbase-Consistency",
            in: "header",
            required: false,
            schema: { type: "string" },
            description:
              "The token a write answered with: this search then sees that write (read-your-writes)",
          },
        ],
        responses: {
          "304": { description: "Not modified (If-None-Match matched)", headers: readHeaders },
          "200": {
            description: "Results, best first",
            headers: readHeaders,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    mode: { type: "string", enum: modes },
                    items: {
                      type: "array",
                      items: {
                        type: "object",
                        properties: {
                          score: {
                            type: "number",
                            description:
                              "Higher is better: -bm25 (keyword), 1 - cosine distance (semantic), the fused reciprocal-rank score (hybrid)",
                          },
                          distance: {
                            type: "number",
                            description: "Vector distance to the query (semantic and hybrid)",
                          },
                          record: {
                            anyOf: [
                              { $ref: `#/components/schemas/${model.name}Record` },
                              { $ref: `#/components/schemas/${model.name}Partial` },
                            ],
                          },
                        },
                        required: ["score", "record"],
                        additionalProperties: false,
                      },
                    },
                  },
                  required: ["mode", "items"],
                  additionalProperties: false,
                },
              },
            },
          },
          ...problemResponses([
            "INVALID_QUERY",
            "INVALID_FILTER",
            "UNKNOWN_COLLECTION",
            "NOT_FOUND",
            "UNAUTHENTICATED",
            "RATE_LIMITED",
            "MALFORMED_URI",
            ...(vector ? (["NOT_IMPLEMENTED", "UNAVAILABLE"] as const) : []),
          ]),
        },
      },
    };
  }
  return paths;
}
