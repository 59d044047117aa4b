import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { Readable } from "node:stream";
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
