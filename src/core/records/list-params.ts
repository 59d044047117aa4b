import { base64url, fromBase64url } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import type { FilterError } from "../query/ast";
import { listSearch } from "../search/fts";
import type { CollectionModel, FieldInfo } from "./model";

export interface SortKey {
  key: string;
  desc: boolean;
}

export interface ListParams {
  filter: string | undefined;
  sort: SortKey[];
  sortText: string;
  fields: string[];
  expand: string[];
  limit: number;
  cursor: unknown[] | undefined;
  total: boolean;
  /** `?q=` as an FTS5 query (collections with `search`): only matching records are listed. */
  search?: string;
}

export const maxLimit = 200;
export const defaultLimit = 30;
/** The longest `fields`/`expand` list and `sort` value accepted. */
export const maxFieldList = 1000;
export const maxSortLength = 200;
export const maxSortKeys = 4;
export const maxCursorLength = 4096;

/** The query parameters of a list and of a single read; any other is refused (400). */
export const listQueryParams = [
  "filter",
  "sort",
  "fields",
  "expand",
  "limit",
  "cursor",
  "total",
  "q",
] as const;
export const viewQueryParams = ["fields", "expand"] as const;

/**
 * Refuses query parameters a collections read does not take, naming them, so a client's typo or
 * another API's parameter never silently changes nothing (PocketBase's `page`/`perPage` would
 * quietly return page 1 again: pages here are `limit` + the previous page's `nextCursor`).
 */
export function refuseUnknownParams(present: Iterable<string>, known: readonly string[]): void {
  const unknown = [...new Set(present)].filter((name) => !known.includes(name));
  if (unknown.length === 0) return;
  const named = unknown.map((n) => JSON.stringify(n.slice(0, 64))).join(", ");
  const pocketBase = unknown.some((n) => n === "page" || n === "perPage" || n === "skipTotal");
  throw new ApiError(
    "INVALID_QUERY",
    `Unknown query parameter${unknown.length > 1 ? "s" : ""} ${named}; this request takes ${known.join(", ")}.${
      pocketBase ? " Pages are limit + the previous page's nextCursor (no page/perPage)." : ""
    }`,
    {
      errors: unknown.slice(0, 20).map((n) => ({
        path: `/${n.slice(0, 64)}`,
        message: "unknown query parameter",
      })),
    },
  );
}

const sortableTypes = new Set(["string", "number", "boolean", "date"]);

/** Keyset pagination needs non-null keys whose stored values are text or numbers. */
export function sortable(info: FieldInfo): boolean {
  return info.notNull && !info.multi && sortableTypes.has(info.column.dataType);
}

function bad(param: string, message: string): ApiError {
  return new ApiError("INVALID_QUERY", `${param}: ${message}`, {
    errors: [{ path: `/${param}`, message }],
  });
}

export function filterProblem(err: FilterError, param = "filter"): ApiError {
  return new ApiError("INVALID_FILTER", `${param}: ${err.message}`, {
    errors: [{ path: `/${param}`, message: err.message }],
  });
}

/** Comma-separated names, each a readable field; duplicates dropped. */
export function parseFieldList(
  model: CollectionModel,
  raw: string | undefined,
  param: string,
): string[] | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  if (raw.length > maxFieldList) throw bad(param, "too long");
  const names = [...new Set(raw.split(",").map((s) => s.trim()))];
  for (const name of names) {
    if (!model.readable.includes(name))
      throw bad(param, `unknown field ${JSON.stringify(name.slice(0, 64))}`);
  }
  return names;
}

/** The `expand` list: readable relation fields only. */
export function parseExpand(model: CollectionModel, raw: string | undefined): string[] {
  const keys = parseFieldList(model, raw, "expand") ?? [];
  for (const key of keys) {
    if (!model.relations.has(key)) throw bad("expand", `${key} is not a relation`);
  }
  return keys;
}

/**
 * Opaque cursors carry the sort they were made for and the last row's sort values: base64url of
 * their JSON's UTF-8 bytes. An ASCII JSON text (the usual case) is its own bytes, so it goes to
 * `btoa` as it is, without encoding and copying it byte by byte first.
 */
export function encodeCursor(sortText: string, values: unknown[]): string {
  const json = JSON.stringify({ s: sortText, v: values });
  if (!nonAscii.test(json))
    return btoa(json).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return base64url(new TextEncoder().encode(json));
}
const nonAscii = /[\u0080-\uffff]/;

export function parseListParams(
  model: CollectionModel,
  query: (name: string) => string | undefined,
): ListParams {
  const limitRaw = query("limit");
  let limit = defaultLimit;
  if (limitRaw !== undefined) {
    if (!/^\d{1,4}$/.test(limitRaw) || Number(limitRaw) < 1 || Number(limitRaw) > maxLimit) {
      throw bad("limit", `must be a whole number from 1 to ${maxLimit}`);
    }
    limit = Number(limitRaw);
  }

  const sortRaw = query("sort") ?? "-created";
  if (sortRaw.length > maxSortLength) throw bad("sort", "too long");
  const sort: SortKey[] = [];
  for (const part of sortRaw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const desc = part.startsWith("-");
    const key = part.replace(/^[-+]/, "");
    const info = model.fields.get(key);
    if (info === undefined || model.hidden.has(key))
      throw bad("sort", `unknown field ${JSON.stringify(key.slice(0, 64))}`);
    if (model.encrypted.has(key))
      throw bad("sort", `${key} is encrypted at rest and cannot be sorted on`);
    if (!sortable(info))
      throw bad("sort", `${key} cannot be sorted on (it may be empty, or is a list or binary)`);
    if (sort.some((s) => s.key === key)) throw bad("sort", `${key} appears twice`);
    sort.push({ key, desc });
  }
  if (sort.length > maxSortKeys) throw bad("sort", `at most ${maxSortKeys} keys`);
  if (!sort.some((s) => s.key === "id")) sort.push({ key: "id", desc: sort.at(-1)?.desc ?? false });
  const sortText = sort.map((s) => `${s.desc ? "-" : ""}${s.key}`).join(",");

  const expand = parseExpand(model, query("expand"));

  let cursor: unknown[] | undefined;
  const cursorRaw = query("cursor");
  if (cursorRaw !== undefined && cursorRaw !== "") {
    let decoded: { s?: unknown; v?: unknown };
    try {
      if (cursorRaw.length > maxCursorLength || !/^[A-Za-z0-9_-]+$/.test(cursorRaw))
        throw new Error("shape");
      decoded = JSON.parse(new TextDecoder().decode(fromBase64url(cursorRaw)));
    } catch {
      throw bad("cursor", "is not a cursor this API issued");
    }
    if (decoded.s !== sortText || !Array.isArray(decoded.v) || decoded.v.length !== sort.length) {
      throw bad("cursor", "was made for a different sort; start again without a cursor");
    }
    if (!decoded.v.every((v) => typeof v === "string" || typeof v === "number"))
      throw bad("cursor", "is not a cursor this API issued");
    cursor = decoded.v;
  }

  const totalRaw = query("total");
  if (totalRaw !== undefined && totalRaw !== "true" && totalRaw !== "false")
    throw bad("total", "must be true or false");

  const filter = query("filter");
  const search = listSearch(model, query("q"));
  return {
    filter: filter === undefined || filter.trim() === "" ? undefined : filter,
    sort,
    sortText,
    fields: parseFieldList(model, query("fields"), "fields") ?? model.readable,
    expand,
    limit,
    cursor,
    total: totalRaw === "true",
    ...(search === undefined ? {} : { search }),
  };
}
