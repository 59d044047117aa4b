import * as z from "zod/mini";
import { type ErrorCode, errorStatus, toProblem } from "./errors";

type Json = Record<string, unknown>;

const problemHeaders: Partial<Record<number, Json>> = {
  401: { "WWW-Authenticate": { schema: { type: "string" }, description: "Bearer challenge" } },
  429: { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait" } },
};

/**
 * A zod schema (zod/mini or classic) as JSON Schema (draft 2020-12, as OpenAPI 3.1 uses), without
 * `$schema`.
 */
export function jsonSchema(schema: z.core.$ZodType, io: "input" | "output"): Json {
  const json = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  delete json.$schema;
  return json;
}

/**
 * The problem responses for a set of codes, grouped by status: each documents which codes it
 * carries (the Problem schema with `code` narrowed to them).
 */
export function problemResponses(codes: Iterable<ErrorCode>): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = errorStatus[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, Json> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    group.sort();
    responses[String(status)] = {
      description: group
        .map((code) => `${code}: ${toProblem(code, undefined, undefined).title}`)
        .join("; "),
      ...(problemHeaders[status] ? { headers: problemHeaders[status] } : {}),
      content: {
        "application/problem+json": {
          schema: {
            allOf: [
              { $ref: "#/components/schemas/Problem" },
              { type: "object", properties: { code: { enum: group } } },
            ],
          },
        },
      },
    };
  }
  return responses;
}
