import { getTableColumns } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { maxThumbSide, parseThumb, thumbnailTypes } from "./thumbs";

/**
 * A file field: a text column of the collection holding the stored file's name (or, with
 * `maxFiles` above 1, a JSON array column of names). The bytes live in the home's object
 * storage under `<collection>/<record id>/<field>/<name>`, never in libSQL.
 */
export interface FileFieldOptions {
  /** Largest file accepted, in bytes (each file, for a multiple field). */
  maxSize: number;
  /** More than 1 makes a multiple field (its column must be `text({ mode: "json" })`). Default 1. */
  maxFiles?: number;
  /**
   * Media types accepted, as found by reading the file's first bytes (src/core/files/sniff.ts),
   * never as the client declared them: e.g. `["image/png", "image/jpeg", "application/pdf"]`.
   */
  mimeTypes: readonly string[];
  /**
   * Protected files are served only with a short-lived signed token (`?token=`, from
   * POST /api/files/token) of someone the record's view rule admits; public ones to anyone the
   * view rule admits, bearer header or not.
   */
  protected?: boolean;
  /**
   * Thumbnail sizes served as `?thumb=<size>` for image files (README "Files"): `WxH` (crop from
   * the centre), `WxHt` / `WxHb` (from the top / bottom), `WxHf` (fit inside), `0xH`, `Wx0`.
   * Only these are made; any other size is refused (400).
   */
  thumbs?: readonly string[];
}

export interface FileField extends Required<Omit<FileFieldOptions, "mimeTypes" | "thumbs">> {
  name: string;
  mimeTypes: ReadonlySet<string>;
  multiple: boolean;
  thumbs: ReadonlySet<string>;
}

/** Checks a collection's `files` option against its table; throws at definition time. */
export function checkFileOptions(
  collection: string,
  table: SQLiteTable,
  files: Record<string, FileFieldOptions> | undefined,
): void {
  if (files === undefined) return;
  const columns = getTableColumns(table) as Record<string, SQLiteColumn>;
  for (const [name, f] of Object.entries(files)) {
    const column = columns[name];
    const where = `Collection ${collection}: file field ${name}`;
    if (column === undefined) throw new Error(`${where} is not a column.`);
    const multiple = (f.maxFiles ?? 1) > 1;
    const json = column.columnType === "SQLiteTextJson";
    if (multiple !== json)
      throw new Error(
        multiple
          ? `${where} takes several files: its column must be text({ mode: "json" }).$type<string[]>().`
          : `${where} takes one file: its column must be a plain text() column.`,
      );
    if (column.columnType !== "SQLiteText" && !json)
      throw new Error(`${where} must be a text column.`);
    if (!Number.isInteger(f.maxSize) || f.maxSize < 1 || f.maxSize > 1024 ** 3)
      throw new Error(`${where}: maxSize must be a whole number of bytes, 1 B to 1 GiB.`);
    if (
      f.maxFiles !== undefined &&
      (!Number.isInteger(f.maxFiles) || f.maxFiles < 1 || f.maxFiles > 100)
    )
      throw new Error(`${where}: maxFiles must be 1 to 100.`);
    if (f.mimeTypes.length === 0) throw new Error(`${where}: list the mimeTypes it accepts.`);
    for (const type of f.mimeTypes) {
      if (!sniffable.has(type))
        throw new Error(
          `${where}: ${type} cannot be recognised from a file's bytes; known types: ${[...sniffable].join(", ")}.`,
        );
    }
    for (const size of f.thumbs ?? []) {
      if (parseThumb(size) === undefined)
        throw new Error(
          `${where}: thumb ${JSON.stringify(size)} is not a size (WxH, WxHt, WxHb, WxHf, 0xH or Wx0, sides up to ${maxThumbSide}).`,
        );
    }
    if ((f.thumbs?.length ?? 0) > 0 && !f.mimeTypes.some((t) => thumbnailTypes.has(t)))
      throw new Error(
        `${where}: thumbs need an image type among its mimeTypes (${[...thumbnailTypes.keys()].join(", ")}).`,
      );
  }
}

/** The file fields of a collection's options, normalised. */
export function fileFields(files: Record<string, FileFieldOptions> | undefined): FileField[] {
  return Object.entries(files ?? {}).map(([name, f]) => ({
    name,
    maxSize: f.maxSize,
    maxFiles: f.maxFiles ?? 1,
    multiple: (f.maxFiles ?? 1) > 1,
    mimeTypes: new Set(f.mimeTypes),
    protected: f.protected ?? false,
    thumbs: new Set(f.thumbs ?? []),
  }));
}

/** The media types `sniff` can tell (a field may accept only these). */
export const sniffable: ReadonlySet<string> = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "application/pdf",
  "application/zip",
  "application/gzip",
  "audio/mpeg",
  "video/mp4",
  "text/plain",
  "application/octet-stream",
]);
