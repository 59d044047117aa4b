import type { CollectionModel } from "../records/model";
import type { Record_ } from "../records/read";
import { fileFields } from "./spec";

/**
 * A record's files as download paths (under the API's origin), by field: what the privacy
 * export adds to each record as `@files`, so the account can fetch its files, not only read
 * their names. Protected fields' files need `?token=` (POST /api/files/token) or a bearer header.
 * Undefined for a collection without file fields.
 */
export function fileLinks(
  model: CollectionModel,
  record: Record_,
): Record<string, string[]> | undefined {
  const fields = fileFields(model.def.options.files);
  if (fields.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  const id = encodeURIComponent(String(record.id));
  for (const f of fields) {
    const value = record[f.name];
    const names = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
    out[f.name] = names.map(
      (n) => `/api/files/${model.name}/${id}/${encodeURIComponent(String(n))}`,
    );
  }
  return out;
}
