import type { Models } from "../records/model";
import { fileFields } from "./spec";

type Json = Record<string, unknown>;

/**
 * Adds a `multipart/form-data` request body beside the JSON one to the create and update
 * operations of every collection with file fields: the record's fields as parts (or one
 * `@jsonPayload` part), each file field as binary part(s) with its limits.
 */
export function addMultipartBodies(paths: Record<string, Json>, models: Models): void {
  for (const model of models.values()) {
    const fields = fileFields(model.def.options.files);
    if (fields.length === 0) continue;
    const properties: Json = {
      "@jsonPayload": {
        type: "string",
        description: "the record's other fields as one JSON object",
      },
    };
    for (const f of fields) {
      const file = {
        type: "string",
        format: "binary",
        description: `${[...f.mimeTypes].join(", ")} (checked from the content), at most ${f.maxSize} bytes${f.protected ? "; protected: served with ?token=" : ""}`,
      };
      properties[f.name] = f.multiple ? { type: "array", items: file, maxItems: f.maxFiles } : file;
      if (f.multiple)
        properties[`${f.name}-`] = {
          type: "string",
          description: `a name to remove from ${f.name}`,
        };
    }
    const multipart = {
      "multipart/form-data": {
        schema: { type: "object", properties, additionalProperties: { type: "string" } },
      },
    };
    const collection = paths[`/api/collections/${model.name}/records`] as Json | undefined;
    const record = paths[`/api/collections/${model.name}/records/{id}`] as Json | undefined;
    for (const op of [collection?.post, record?.patch] as (
      | { requestBody?: { content: Json } }
      | undefined
    )[]) {
      if (op?.requestBody !== undefined)
        op.requestBody.content = { ...op.requestBody.content, ...multipart };
    }
  }
}
