import type { Models } from "../records/model";
import { fileFields } from "./spec";

type Json = Record<string, unknown>;

/**
 * Adds a `multipart/form-data` request body beside the JSON one to the create and update
 * operations of every collection with file fields: the record's fields as parts (or one
 * `@jsonPayload` part), each file field as binary part(s) with its limits.
 */
export function addMultipartBodies(paths: Record<string, Json>, models: Models): void {
  const withFiles = [...models.values()].filter((m) => fileFields(m.def.options.files).length > 0);
  const batch = (paths["/api/batch"] as Json | undefined)?.post as
    | { requestBody?: { content: Json } }
    | undefined;
  if (withFiles.length > 0 && batch?.requestBody !== undefined) {
    const example = withFiles[0]!;
    batch.requestBody.content = {
      ...batch.requestBody.content,
      "multipart/form-data": {
        schema: {
          type: "object",
          required: ["@jsonPayload"],
          properties: {
            "@jsonPayload": {
              type: "string",
              description: 'the batch as JSON: {"operations": [...]}',
            },
          },
          additionalProperties: {
            type: "string",
            format: "binary",
            description:
              "a file for a create or update of the batch, named operations.<index>.<file field>; stored first, claimed by the batch's commit (none if it fails)",
          },
        },
        example: {
          "@jsonPayload": JSON.stringify({
            operations: [{ method: "POST", collection: example.name, body: {} }],
          }),
        },
      },
    };
  }
  for (const model of withFiles) {
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
        // The sizes `?thumb=` serves (README "Files"), for clients that show image lists: the
        // dashboard's table asks for a small one instead of each full image.
        ...(f.thumbs.size > 0 && { "x-nearbase-thumbs": [...f.thumbs] }),
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
