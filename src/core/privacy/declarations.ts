import { getTableColumns } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";

/*
 * Privacy declarations on collections (`personal`, `encrypted`, `retention`, `erasure`,
 * `legalBasis`), checked when the app is built: a declaration that cannot hold fails at start,
 * never on a request and never silently.
 */

export type ErasurePolicy =
  | "delete"
  | { anonymize: Record<string, string | number | boolean | null> }
  | { keep: string };

export interface RetentionPolicy {
  days: number;
  /** The timestamp field the window counts from (default `created`). */
  field?: string;
  /** `delete` (default) or `anonymize` (needs `erasure: { anonymize }`). */
  action?: "delete" | "anonymize";
}

/** The privacy part of a collection's options (src/core/records/define.ts declares them). */
export interface PrivacyOptions {
  owner?: string;
  personal?: string[];
  encrypted?: string[];
  retention?: RetentionPolicy;
  erasure?: ErasurePolicy;
  legalBasis?: string;
}

const serverManaged = new Set(["id", "created", "updated", "rev"]);

/** Throws with the collection and option named when a privacy declaration cannot be honoured. */
export function checkPrivacyOptions(
  name: string,
  table: SQLiteTable,
  options: PrivacyOptions,
): void {
  const columns = getTableColumns(table) as Record<string, SQLiteColumn>;
  const fail = (why: string) => {
    throw new Error(`Collection ${name}: ${why}`);
  };
  const field = (option: string, key: string) => {
    if (!(key in columns)) fail(`${option} names unknown field ${key}.`);
    return columns[key]!;
  };
  for (const key of options.personal ?? []) {
    field("personal", key);
    if (serverManaged.has(key)) fail(`personal cannot name the server-managed field ${key}.`);
  }
  if ((options.personal?.length ?? 0) > 0 && options.owner === undefined)
    fail("personal fields need an owner (whose personal data they are).");
  for (const key of options.encrypted ?? []) {
    const column = field("encrypted", key);
    if (serverManaged.has(key) || key === options.owner)
      fail(`${key} cannot be encrypted (server-managed or the owner field).`);
    if (column.dataType !== "string" || column.columnType === "SQLiteTextJson")
      fail(`encrypted field ${key} must be a plain text column (values are sealed as text).`);
    if ((column as unknown as { isUnique?: boolean }).isUnique)
      fail(`encrypted field ${key} cannot be unique (sealed values never compare equal).`);
  }
  checkErasure(name, options.erasure, options, columns);
  checkRetention(name, options.retention, options, columns);
}

function checkErasure(
  name: string,
  erasure: ErasurePolicy | undefined,
  options: PrivacyOptions,
  columns: Record<string, SQLiteColumn>,
) {
  if (erasure === undefined) return;
  if (options.owner === undefined)
    throw new Error(`Collection ${name}: an erasure policy needs an owner field.`);
  if (erasure === "delete") return;
  if ("keep" in erasure) {
    if (typeof erasure.keep !== "string" || erasure.keep.trim().length < 3)
      throw new Error(`Collection ${name}: erasure keep needs a stated legal basis.`);
    return;
  }
  for (const [key, value] of Object.entries(erasure.anonymize)) {
    const column = columns[key];
    if (column === undefined || serverManaged.has(key) || key === options.owner)
      throw new Error(
        `Collection ${name}: erasure anonymize names field ${key}, which it cannot set.`,
      );
    if (value === null && column.notNull)
      throw new Error(
        `Collection ${name}: erasure anonymize sets ${key} to null, but it is NOT NULL.`,
      );
  }
  for (const key of options.personal ?? []) {
    if (!(key in erasure.anonymize))
      throw new Error(
        `Collection ${name}: erasure anonymize leaves personal field ${key} as it is; give it a replacement.`,
      );
  }
}

function checkRetention(
  name: string,
  retention: RetentionPolicy | undefined,
  options: PrivacyOptions,
  columns: Record<string, SQLiteColumn>,
) {
  if (retention === undefined) return;
  if (!Number.isInteger(retention.days) || retention.days < 1 || retention.days > 36_500)
    throw new Error(`Collection ${name}: retention.days must be a whole number from 1 to 36500.`);
  const key = retention.field ?? "created";
  const column = columns[key];
  if (column === undefined || column.dataType !== "string")
    throw new Error(
      `Collection ${name}: retention.field ${key} must be an ISO timestamp text column.`,
    );
  if (
    retention.action === "anonymize" &&
    (typeof options.erasure !== "object" || !("anonymize" in options.erasure))
  )
    throw new Error(
      `Collection ${name}: retention action anonymize needs erasure: { anonymize: {…} } (the replacements).`,
    );
}

/** The erasure policy in effect: declared, else `delete` for owned collections, else none. */
export function erasureOf(options: PrivacyOptions): ErasurePolicy | undefined {
  return options.erasure ?? (options.owner === undefined ? undefined : "delete");
}

/** A short human description of an erasure policy (data map, export). */
export function describeErasure(policy: ErasurePolicy | undefined): string {
  if (policy === undefined) return "none (no owner)";
  if (policy === "delete") return "delete";
  if ("keep" in policy) return `keep (${policy.keep})`;
  return `anonymize (${Object.keys(policy.anonymize).join(", ")})`;
}
