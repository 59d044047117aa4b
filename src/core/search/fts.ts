import { type SQL, sql } from "drizzle-orm";
import { ApiError } from "../kernel/errors";
import type { CollectionModel } from "../records/model";
import { ftsTableName } from "./sql";

export const maxQueryLength = 256;
export const maxQueryTerms = 16;

function bad(param: string, message: string): ApiError {
  return new ApiError("INVALID_QUERY", `${param}: ${message}`, {
    errors: [{ path: `/${param}`, message }],
  });
}

/**
 * A user's search text as an FTS5 query: its words (letters and digits), each quoted so no
 * FTS5 syntax (NEAR, OR, column filters, unbalanced quotes) comes from the client, all required;
 * a word ending in `*` matches as a prefix. Text without words is a 400, never an FTS5 error.
 */
export function ftsQuery(text: string, param = "q"): string {
  if (text.length > maxQueryLength) throw bad(param, `at most ${maxQueryLength} characters`);
  const terms = [...text.matchAll(/([\p{L}\p{N}_]+)(\*?)/gu)].map(
    ([, word, star]) => `"${word}"${star ? " *" : ""}`,
  );
  if (terms.length === 0) throw bad(param, "has no words to search for");
  if (terms.length > maxQueryTerms) throw bad(param, `at most ${maxQueryTerms} words`);
  return terms.join(" ");
}

/** Whether the collection declares full-text search. */
export function hasFullText(model: CollectionModel): boolean {
  return model.def.options.search !== undefined;
}

/** The list condition for `?q=`: the record's row is among the FTS5 matches. */
export function matchCondition(model: CollectionModel, query: string): SQL {
  const fts = sql.identifier(ftsTableName(model.table));
  return sql`${model.table}.rowid IN (SELECT rowid FROM ${fts} WHERE ${fts} MATCH ${query})`;
}

/** Parses `?q=` for a list: undefined when absent, a 400 when the collection has no search. */
export function listSearch(model: CollectionModel, raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!hasFullText(model))
    throw bad("q", `${model.name} has no full-text search (its collection declares no search)`);
  return ftsQuery(raw);
}
