import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { AwsClient } from "aws4fetch";
import type { FileStorage, ObjectMeta } from "../../core/files/storage";
import { spool } from "./storage-disk";

export interface S3Options {
  /** The bucket's URL: `https://<account>.r2.cloudflarestorage.com/<bucket>`, `http://127.0.0.1:9000/<bucket>`, `https://<bucket>.s3.<region>.amazonaws.com`. */
  url: string;
  /** The signing region (`auto` for R2). */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * The Node home's S3-compatible storage (R2, S3, MinIO …): plain object requests signed with
 * SigV4 by aws4fetch. The media type rides as the object's Content-Type, the SHA-256 (the ETag
 * both homes answer with) as `x-amz-meta-sha256`. Errors carry the status, never credentials.
 */
export function s3Storage(options: S3Options): FileStorage {
  const client = s3Client(options);
  const bucket = options.url.replace(/\/+$/, "");
  const urlOf = (key: string) => `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
  const failed = async (what: string, key: string, res: Response) => {
    const detail = (await res.text().catch(() => "")).slice(0, 300);
    const code = /<Code>([^<]+)<\/Code>/.exec(detail)?.[1];
    return new Error(`S3 ${what} ${key}: ${res.status}${code ? ` ${code}` : ""}`);
  };
  const metaOf = (res: Response): ObjectMeta => ({
    contentType: res.headers.get("content-type") ?? "application/octet-stream",
    sha256:
      res.headers.get("x-amz-meta-sha256") ?? (res.headers.get("etag") ?? "").replace(/"/g, ""),
  });
  return {
    kind: "s3",
    async check() {
      // HeadBucket: 200 with working keys; 403 (wrong keys, no access), 404 (no such bucket).
      const res = await client.fetch(bucket, { method: "HEAD" });
      await res.body?.cancel();
      if (!res.ok)
        throw new Error(
          `FILES_S3_URL: the bucket answered ${res.status} (${res.status === 404 ? "no such bucket" : res.status === 403 ? "the keys are refused or lack access" : "unavailable"}); check FILES_S3_URL, FILES_S3_REGION and the keys`,
        );
    },
    async put(key, bytes, meta) {
      const res = await client.fetch(urlOf(key), {
        method: "PUT",
        body: bytes as Uint8Array<ArrayBuffer>,
        headers: {
          "content-type": meta.contentType,
          "content-length": String(bytes.byteLength),
          "x-amz-meta-sha256": meta.sha256,
          // The payload's hash is signed: the server refuses bytes that differ from it.
          "x-amz-content-sha256": hex(meta.sha256),
        },
      });
      if (!res.ok) throw await failed("put", key, res);
      await res.body?.cancel();
    },
    async putStream(key, body, size, contentType) {
      // Spooled to a temporary file while hashing (a signed payload hash and the SHA-256 ETag
      // need every byte first), then streamed from it: never the whole body in memory.
      const dir = await mkdtemp(join(tmpdir(), "nearbase-upload-"));
      try {
        const path = join(dir, "body");
        const sha256 = await spool(body, path);
        const res = await client.fetch(urlOf(key), {
          method: "PUT",
          body: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>,
          headers: {
            "content-type": contentType,
            "content-length": String(size),
            "x-amz-meta-sha256": sha256,
            "x-amz-content-sha256": hex(sha256),
          },
          duplex: "half",
        } as RequestInit);
        if (!res.ok) throw await failed("put", key, res);
        await res.body?.cancel();
        return { contentType, sha256 };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async head(key) {
      const res = await client.fetch(urlOf(key), { method: "HEAD" });
      if (res.status === 404) return undefined;
      if (!res.ok) throw await failed("head", key, res);
      return { ...metaOf(res), size: Number(res.headers.get("content-length")) };
    },
    async get(key, range) {
      const res = await client.fetch(urlOf(key), {
        headers:
          range === undefined
            ? {}
            : { range: `bytes=${range.offset}-${range.offset + range.length - 1}` },
      });
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      if (!res.ok || res.body === null) throw await failed("get", key, res);
      const total = /\/(\d+)$/.exec(res.headers.get("content-range") ?? "")?.[1];
      const size = Number(total ?? res.headers.get("content-length"));
      return { ...metaOf(res), size, body: res.body };
    },
    async delete(keys) {
      await Promise.all(
        keys.map(async (key) => {
          const res = await client.fetch(urlOf(key), { method: "DELETE" });
          // Deleting what is not there is not an error (S3 answers 204 anyway).
          if (!res.ok && res.status !== 404) throw await failed("delete", key, res);
          await res.body?.cancel();
        }),
      );
    },
  };
}

/** The SigV4 signer the adapter uses (exported for the signing test against AWS's vectors). */
export function s3Client(options: Omit<S3Options, "url">): AwsClient {
  return new AwsClient({
    accessKeyId: options.accessKeyId,
    secretAccessKey: options.secretAccessKey,
    service: "s3",
    region: options.region,
    // aws4fetch retries 5xx and network errors with backoff (50 ms doubling).
    retries: 2,
  });
}

/** base64url SHA-256 → hex, as SigV4's x-amz-content-sha256 carries it. */
function hex(b64url: string): string {
  return Buffer.from(b64url, "base64url").toString("hex");
}
