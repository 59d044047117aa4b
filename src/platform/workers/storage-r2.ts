import type { FileStorage } from "../../core/files/storage";

/**
 * The Workers home's file storage: the FILES R2 bucket binding (wrangler.toml; miniflare
 * emulates it in `wrangler dev` and the tests). The media type rides as the object's
 * httpMetadata, the SHA-256 (the ETag both homes answer with) as custom metadata.
 */
export function r2Storage(bucket: R2Bucket): FileStorage {
  const metaOf = (object: R2Object) => ({
    contentType: object.httpMetadata?.contentType ?? "application/octet-stream",
    sha256: object.customMetadata?.sha256 ?? object.etag,
    size: object.size,
  });
  return {
    kind: "r2",
    async put(key, bytes, meta) {
      await bucket.put(key, bytes, {
        httpMetadata: { contentType: meta.contentType },
        customMetadata: { sha256: meta.sha256 },
        sha256: hex(meta.sha256),
      });
    },
    async putStream(key, body, size, contentType) {
      // R2 takes a stream only with its length known up front.
      const sized = body.pipeThrough(new FixedLengthStream(size));
      const object = await bucket.put(key, sized, { httpMetadata: { contentType } });
      return { contentType, sha256: object?.etag ?? "" };
    },
    async head(key) {
      const object = await bucket.head(key);
      return object === null ? undefined : metaOf(object);
    },
    async get(key, range) {
      const object = await bucket.get(key, range === undefined ? {} : { range });
      if (object === null) return undefined;
      return { ...metaOf(object), body: object.body };
    },
    async delete(keys) {
      if (keys.length > 0) await bucket.delete([...keys]);
    },
  };
}

/** base64url SHA-256 → hex, which R2 checks the upload against. */
function hex(b64url: string): string {
  const bin = atob(b64url.replaceAll("-", "+").replaceAll("_", "/"));
  return [...bin].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
}
