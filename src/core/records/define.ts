import { getTableName } from "drizzle-orm";
import { integer, type SQLiteTable, text } from "drizzle-orm/sqlite-core";
import type * as z from "zod/mini";
import type { CachePolicy } from "../edge/cache-policy";
import { checkFileOptions, type FileFieldOptions } from "../files/spec";
import {
  checkPrivacyOptions,
  type ErasurePolicy,
  type RetentionPolicy,
} from "../privacy/declarations";
import { checkSearchOptions, searchManagedFields, type VectorOptions } from "../search/spec";

/**
 * Access rule for one operation: a filter-language expression the record must satisfy for the
 * caller (`""` = everyone, `null` = admins only). Admins bypass rules.
 */
export type Rule = string | null;
export type Operation = "list" | "view" | "create" | "update" | "delete";

export interface CollectionOptions {
  /** URL segment under /api/collections/; defaults to the table name. */
  name?: string;
  /** Record ids are `<idPrefix>_<random>`, e.g. `pst_…`. */
  idPrefix: string;
  /** Missing operations default to `null` (admins only): least privilege. */
  rules?: Partial<Record<Operation, Rule>>;
  /** A column set to the caller's user id on create and never writable afterwards. */
  owner?: string;
  /**
   * Columns that never leave the server: not readable, filterable or sortable via the API. They
   * stay writable (write-only, e.g. a contact address) unless also listed in `readonly`.
   */
  hidden?: string[];
  /** Columns clients can read but not write (besides the server-managed ones). */
  readonly?: string[];
  /**
   * Columns a client sets on create but can never change afterwards, e.g. the post a comment
   * belongs to (so an update cannot move a record past what the create rule checked).
   */
  immutable?: string[];
  /** Relation columns → the collection they point at (for `expand` and `a.b` filters). */
  relations?: Record<string, string>;
  /** Shared-cache policy for public reads; `false` disables shared caching. */
  cache?: CachePolicy | false;
  /**
   * Whether writes produce events (outbox rows for webhooks); default true. An event carries the
   * record's readable fields, never hidden ones.
   */
  events?: boolean;
  /**
   * Stricter validators for columns than the table implies (e.g. a JSON array's elements): any
   * zod 4 schema, from zod/mini or classic zod.
   */
  validate?: Record<string, z.core.$ZodType>;
  /**
   * Fields holding personal data of the record's owner (src/core/privacy): listed in the data map
   * (`npm run privacy:map`), included in the owner's export, and handled by the erasure policy.
   * Needs `owner` (whose personal data it is).
   */
  personal?: string[];
  /**
   * Text fields sealed at rest (AES-256-GCM, src/core/kernel/seal.ts, record id bound as
   * additional data): decrypted for readers, never filterable or sortable (400), never in events
   * or the shared cache (a collection with a readable encrypted field is not shared-cached).
   */
  encrypted?: string[];
  /**
   * Records older than `days` (by `field`, an ISO timestamp column, default `created`) are
   * removed by the scheduled retention job: deleted, or anonymised with the erasure replacements.
   */
  retention?: RetentionPolicy;
  /**
   * What erasing the owner's account does to their records: `delete` them (the default with an
   * owner), `anonymize` (set the given fields to the given values and detach the owner), or
   * `keep` them for a stated legal basis (shown in the export).
   */
  erasure?: ErasurePolicy;
  /** Why the data is processed (e.g. "contract, Art. 6(1)(b) GDPR"), shown in the export and map. */
  legalBasis?: string;
  /**
   * Text fields indexed for full-text search (src/core/search, an FTS5 external-content table
   * kept in step by triggers from a migration): `?q=` on lists, `/search`. README "Search".
   */
  search?: string[];
  /**
   * A vector field embedded from `source` fields asynchronously (src/core/search): semantic and
   * hybrid `/search`, `?near=`. The vector is hidden; its status field is read-only.
   */
  vector?: VectorOptions;
  /**
   * File fields (src/core/files): column → limits, accepted (sniffed) media types and whether
   * files are protected. Set by multipart create/update only (read-only in JSON bodies); served
   * at /api/files/<collection>/<record>/<name> under the view rule. README "Files".
   */
  files?: Record<string, FileFieldOptions>;
}

export type { ErasurePolicy, RetentionPolicy };

/** A collection: a drizzle table plus Nearbase options. */
export interface CollectionDefinition<T extends SQLiteTable = SQLiteTable> {
  readonly name: string;
  readonly table: T;
  readonly options: CollectionOptions;
}

/** Server-managed columns every collection table starts with. */
export function recordColumns() {
  return {
    id: text().primaryKey(),
    created: text().notNull(),
    updated: text().notNull(),
    /** Revision, bumped on every update; the record's ETag. Never sent as a field. */
    rev: integer().notNull().default(1),
  };
}

export const serverManaged = ["id", "created", "updated", "rev"] as const;

const collectionName = /^[a-z][a-z0-9_]{0,62}$/;
const idPrefix = /^[a-z]{2,8}$/;

/** Declares a collection; a bad name or option fails when the app is built, not on a request. */
export function defineCollection<T extends SQLiteTable>(
  table: T,
  options: CollectionOptions,
): CollectionDefinition<T> {
  const name = options.name ?? getTableName(table);
  if (!collectionName.test(name)) {
    throw new Error(`Collection name ${JSON.stringify(name)} must match ${collectionName}.`);
  }
  if (!idPrefix.test(options.idPrefix)) {
    throw new Error(`Collection ${name}: idPrefix must be 2–8 lowercase letters.`);
  }
  checkPrivacyOptions(name, table, options);
  checkSearchOptions(name, table, options);
  const managed = searchManagedFields(options);
  if (managed.readonly.length > 0)
    options = {
      ...options,
      hidden: [...new Set([...(options.hidden ?? []), ...managed.hidden])],
      readonly: [...new Set([...(options.readonly ?? []), ...managed.readonly])],
    };
  checkFileOptions(name, table, options.files);
  // File columns are written by uploads only: JSON bodies may read them, never set them.
  const fileColumns = Object.keys(options.files ?? {});
  if (fileColumns.length > 0)
    options = { ...options, readonly: [...new Set([...(options.readonly ?? []), ...fileColumns])] };
  // Decrypted values are never put in the shared cache: a readable encrypted field turns it off.
  const readableEncrypted = (options.encrypted ?? []).some((f) => !options.hidden?.includes(f));
  return { name, table, options: readableEncrypted ? { ...options, cache: false } : options };
}
