import type { Client } from "@libsql/client";
import { base64url } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import type { FileField } from "./spec";
import type { FileStorage, StoredObject } from "./storage";
import { ImageInputError, type ImageResizer, parseThumb, thumbKey, thumbnailTypes } from "./thumbs";

/**
 * The `size` thumbnail of the object at `key`: read from storage, or made from the original
 * and stored beside it (its `thumb` row first, so it is deleted with its original, see sweep.ts).
 */
export async function thumbnail(
  deps: { sql: Client; images?: ImageResizer | undefined },
  store: FileStorage,
  field: FileField,
  key: string,
  size: string,
): Promise<{ object: StoredObject; thumb: "made" | "stored" }> {
  const spec = parseThumb(size);
  if (spec === undefined || !field.thumbs.has(size))
    throw new ApiError(
      "VALIDATION_FAILED",
      field.thumbs.size === 0
        ? `${field.name} files have no thumbnails.`
        : `${field.name} thumbnails come in ${[...field.thumbs].join(", ")}.`,
      { errors: [{ path: "/thumb", message: "not a declared size" }] },
    );
  const at = thumbKey(key, size);
  const stored = await store.get(at);
  if (stored !== undefined) return { object: stored, thumb: "stored" };
  const original = await store.get(key);
  if (original === undefined) throw new ApiError("NOT_FOUND", "There is no such file.");
  const outType = thumbnailTypes.get(original.contentType);
  if (outType === undefined) {
    await original.body.cancel();
    throw new ApiError(
      "VALIDATION_FAILED",
      `Thumbnails are made of ${[...thumbnailTypes.keys()].join(", ")} files; this one is ${original.contentType}.`,
      { errors: [{ path: "/thumb", message: `not made of ${original.contentType}` }] },
    );
  }
  if (deps.images === undefined) {
    await original.body.cancel();
    throw new ApiError("NOT_IMPLEMENTED", "This deployment has no image service for thumbnails.");
  }
  const bytes = new Uint8Array(await new Response(original.body).arrayBuffer());
  let out: { bytes: Uint8Array; contentType: string };
  try {
    out = await deps.images.resize(bytes, original.contentType, spec);
  } catch (err) {
    if (err instanceof ImageInputError)
      throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "This image cannot be decoded.", {
        cause: err,
      });
    throw err;
  }
  const digest = await crypto.subtle.digest("SHA-256", out.bytes);
  const meta = { contentType: out.contentType, sha256: base64url(new Uint8Array(digest)) };
  await deps.sql.execute({
    sql: "INSERT OR IGNORE INTO nb_file_deletions (key, due_at, reason, attempts) VALUES (?, ?, 'thumb', 0)",
    args: [at, Number.MAX_SAFE_INTEGER],
  });
  await store.put(at, out.bytes, meta);
  const body = new Blob([out.bytes as Uint8Array<ArrayBuffer>]).stream();
  return { object: { ...meta, size: out.bytes.byteLength, body }, thumb: "made" };
}
