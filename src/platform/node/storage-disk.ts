import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { ByteRange, FileStorage, ObjectMeta } from "../../core/files/storage";

/**
 * The Node home's file storage: one file per object under `root` (FILES_DIR), its metadata
 * (media type, SHA-256) in a `.meta.json` beside it. Writes go to a temporary name and are
 * renamed into place, so a reader never sees half a file.
 */
export function diskStorage(root: string): FileStorage {
  const base = resolve(root);
  const pathOf = (key: string) => {
    const path = resolve(base, key);
    // Keys are built from checked names, but a path outside the root is never touched.
    if (
      !path.startsWith(base + sep) ||
      key.split("/").some((p) => p === "" || p === "." || p === "..")
    )
      throw new Error(`bad storage key ${JSON.stringify(key)}`);
    return path;
  };
  const metaOf = async (path: string) => {
    try {
      const [meta, info] = await Promise.all([readFile(`${path}.meta.json`, "utf8"), stat(path)]);
      return { ...(JSON.parse(meta) as ObjectMeta), size: info.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  };
  return {
    kind: "disk",
    async put(key, bytes, meta) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(`${tmp}.meta`, JSON.stringify(meta));
      await writeFile(tmp, bytes);
      await rename(`${tmp}.meta`, `${path}.meta.json`);
      await rename(tmp, path);
    },
    async putStream(key, body, _size, contentType) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      const sha256 = await spool(body, tmp);
      const meta = { contentType, sha256 };
      await writeFile(`${tmp}.meta`, JSON.stringify(meta));
      await rename(`${tmp}.meta`, `${path}.meta.json`);
      await rename(tmp, path);
      return meta;
    },
    head: (key) => metaOf(pathOf(key)),
    async get(key, range?: ByteRange) {
      const path = pathOf(key);
      const meta = await metaOf(path);
      if (meta === undefined) return undefined;
      const stream = createReadStream(
        path,
        range === undefined ? {} : { start: range.offset, end: range.offset + range.length - 1 },
      );
      return { ...meta, body: Readable.toWeb(stream) as ReadableStream<Uint8Array> };
    },
    async delete(keys) {
      for (const key of keys) {
        const path = pathOf(key);
        // The object first: its metadata alone is harmless, and a retry removes it.
        await rm(path, { force: true });
        await rm(`${path}.meta.json`, { force: true });
      }
    },
  };
}

/**
 * Writes a stream to the file `path` chunk by chunk, hashing on the way; returns the SHA-256
 * (base64url). On a stream error the partial file is removed and the error thrown.
 */
export async function spool(body: ReadableStream<Uint8Array>, path: string): Promise<string> {
  const hash = createHash("sha256");
  const hashing = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hash.update(chunk);
      controller.enqueue(chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(body.pipeThrough(hashing) as NodeReadableStream<Uint8Array>),
      createWriteStream(path),
    );
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return hash.digest("base64url");
}
