import type { Client, InStatement } from "@libsql/client";
import { sql } from "drizzle-orm";
import { bumpVersion } from "../edge/versions";
import { columnName } from "../records/columns";
import { versionScope } from "../records/commit";
import type { CollectionModel, Models } from "../records/model";
import { statement } from "../records/sql";
import { type Embedder, EmbedderError } from "./embedder";
import { resolveVector } from "./spec";

/** Finds the embedder a collection names ("default" unless it says otherwise). */
export type EmbedderSource = (name: string) => Promise<Embedder | undefined>;

export interface EmbedDeps {
  sql: Client;
  models: Models;
  embedders: EmbedderSource;
  now(): number;
  /** Told each collection version a status change produced (the app's version memo learns it). */
  onVersion?: (scope: string, version: number) => void;
}

export const embedBatchSize = 32;
export const maxEmbedAttempts = 5;
/** 30 s, 2 min, 8 min, 32 min between attempts. */
export const embedBackoffMs = (attempts: number) => 30_000 * 4 ** (attempts - 1);

export function vectorModels(models: Models): CollectionModel[] {
  return [...models.values()].filter((m) => m.def.options.vector !== undefined);
}

/** The text a record's embedding is made from: its source fields, one per line. */
export function embeddingText(values: unknown[]): string {
  return values
    .map((v) => (typeof v === "string" ? v : ""))
    .filter((v) => v !== "")
    .join("\n");
}

/**
 * Embeds pending records (status `pending`, not waiting for a retry) in batches, at most
 * `maxBatches` per collection: one embedder call per batch, then one write batch that stores
 * each vector only if its source fields are still what was embedded (a record edited meanwhile
 * stays pending for the next run). A failed batch counts an attempt per record, with backoff;
 * after maxEmbedAttempts the record's status is `failed`. Idempotent and resumable: the state is
 * in the rows, so the scheduled job, the after-write kick and the backfill command share it.
 *
 * A status change is a data change clients read (`embeddingStatus`): its batch bumps the
 * collection's cache version like any write, so no shared-cache entry keeps showing `pending`.
 * A collection whose embedder is not configured is left alone (its records stay `pending`, no
 * attempts counted) and reported in `unconfigured`.
 */
export async function embedPending(
  deps: EmbedDeps,
  options: { maxBatches?: number; batchSize?: number } = {},
): Promise<Record<string, number>> {
  const result = { embedded: 0, failed: 0, retrying: 0, pending: 0, unconfigured: 0 };
  const size = options.batchSize ?? embedBatchSize;
  for (const model of vectorModels(deps.models)) {
    const v = resolveVector(model.def.options.vector!);
    const field = (key: string) => model.fields.get(key)!.column;
    const idColumn = field("id");
    const status = field(v.status);
    const source = v.source.map(field);
    const embedder = await deps.embedders(v.embedder);
    const scope = versionScope(model);
    for (let round = 0; embedder !== undefined && round < (options.maxBatches ?? 10); round++) {
      const now = deps.now();
      const rs = await deps.sql.execute(
        statement(
          sql`SELECT ${idColumn} AS id, ${sql.join(
            source.map((c, i) => sql`${c} AS ${sql.identifier(`s${i}`)}`),
            sql`, `,
          )} FROM ${model.table} WHERE ${status} = 'pending' AND NOT EXISTS (SELECT 1 FROM nb_embedding_failures f WHERE f.collection = ${model.name} AND f.record_id = ${idColumn} AND f.next_at > ${now}) LIMIT ${size}`,
        ),
      );
      if (rs.rows.length === 0) break;
      const rows = rs.rows.map((r) => ({
        id: String(r.id),
        values: source.map((_, i) => r[`s${i}`] ?? null),
      }));
      const writes: InStatement[] = [];
      try {
        const vectors = await embedder.embed(
          rows.map((r) => embeddingText(r.values)),
          "document",
        );
        for (const [i, row] of rows.entries()) {
          const vec = vectors[i]!;
          if (vec.length !== v.dimensions)
            throw new EmbedderError(
              `embedder answered ${vec.length} dimensions, the field has ${v.dimensions}`,
              false,
            );
          writes.push(
            statement(
              sql`UPDATE ${model.table} SET ${sql.identifier(columnName(field(v.field)))} = vector32(${JSON.stringify(vec)}), ${sql.identifier(columnName(status))} = 'ready' WHERE ${idColumn} = ${row.id} AND ${sql.join(
                source.map((c, j) => sql`${c} IS ${row.values[j]}`),
                sql` AND `,
              )}`,
            ),
            {
              sql: "DELETE FROM nb_embedding_failures WHERE collection = ? AND record_id = ?",
              args: [model.name, row.id],
            },
          );
        }
        writes.push(bumpVersion(scope, now));
        const done = await deps.sql.batch(writes, "write");
        deps.onVersion?.(scope, Number(done.at(-1)!.rows[0]!.version));
        result.embedded += done
          .slice(0, -1)
          .filter((d, i) => i % 2 === 0 && d.rowsAffected > 0).length;
      } catch (err) {
        const message = err instanceof EmbedderError ? err.message : "embedding failed";
        for (const row of rows) {
          const failed = await deps.sql.execute({
            sql: `INSERT INTO nb_embedding_failures (collection, record_id, attempts, next_at, last_error)
                  VALUES (?, ?, 1, ?, ?)
                  ON CONFLICT (collection, record_id) DO UPDATE SET attempts = attempts + 1, last_error = excluded.last_error
                  RETURNING attempts`,
            args: [model.name, row.id, now + embedBackoffMs(1), message],
          });
          const attempts = Number(failed.rows[0]?.attempts ?? 1);
          if (attempts >= maxEmbedAttempts) {
            const [, bumped] = await deps.sql.batch(
              [
                statement(
                  sql`UPDATE ${model.table} SET ${sql.identifier(columnName(status))} = 'failed' WHERE ${idColumn} = ${row.id} AND ${status} = 'pending'`,
                ),
                bumpVersion(scope, now),
              ],
              "write",
            );
            deps.onVersion?.(scope, Number(bumped!.rows[0]!.version));
            result.failed++;
          } else {
            await deps.sql.execute({
              sql: "UPDATE nb_embedding_failures SET next_at = ? WHERE collection = ? AND record_id = ?",
              args: [now + embedBackoffMs(attempts), model.name, row.id],
            });
            result.retrying++;
          }
        }
        break;
      }
      if (rows.length < size) break;
    }
    const left = await deps.sql.execute(
      statement(sql`SELECT count(*) AS n FROM ${model.table} WHERE ${status} = 'pending'`),
    );
    result.pending += Number(left.rows[0]?.n ?? 0);
    if (embedder === undefined) result.unconfigured++;
  }
  return result;
}

/** Puts `failed` records back to `pending` with a clean slate (the backfill's --retry-failed). */
export async function retryFailed(deps: EmbedDeps): Promise<number> {
  let n = 0;
  for (const model of vectorModels(deps.models)) {
    const v = resolveVector(model.def.options.vector!);
    const status = model.fields.get(v.status)!.column;
    const [rs, , bumped] = await deps.sql.batch(
      [
        statement(
          sql`UPDATE ${model.table} SET ${sql.identifier(columnName(status))} = 'pending' WHERE ${status} = 'failed'`,
        ),
        { sql: "DELETE FROM nb_embedding_failures WHERE collection = ?", args: [model.name] },
        bumpVersion(versionScope(model), deps.now()),
      ],
      "write",
    );
    deps.onVersion?.(versionScope(model), Number(bumped!.rows[0]!.version));
    n += rs!.rowsAffected;
  }
  return n;
}
