import type { Client } from "@libsql/client";
import { getTableName } from "drizzle-orm";
import { isSealed, type Sealer } from "../kernel/seal";
import { columnName } from "../records/columns";
import type { CollectionModel, Models } from "../records/model";
import { fieldContext } from "./fields";

/*
 * Re-encryption after a key rotation (`npm run keys:rotate-data`): every encrypted value not
 * sealed with the newest key — sealed with an older one, or stored in plain text before the field
 * was declared encrypted — is re-sealed with the newest, in batches. Each value is replaced only
 * if it is still what was read (compare-and-set), so a write meanwhile is never overwritten.
 * There is no progress state to lose: a run that stops half way leaves every value readable
 * (old and new keys are both loaded) and the next run simply finds what is left.
 */

export interface RotationProgress {
  /** Values re-sealed so far. */
  resealed: number;
  /** Values still to do when the run stopped (0 = finished). */
  remaining: number;
  /** Per collection.field: values re-sealed. */
  fields: Record<string, number>;
}

function pending(model: CollectionModel, field: string, kid: string) {
  const table = getTableName(model.table);
  const column = columnName(model.fields.get(field)!.column);
  return {
    table,
    column,
    where: `"${column}" IS NOT NULL AND substr("${column}", 1, ?) != ?`,
    args: [`nb1.${kid}.`.length, `nb1.${kid}.`] as (string | number)[],
  };
}

/** How many encrypted values are not yet sealed with the newest key. */
export async function rotationBacklog(client: Client, models: Models, sealer: Sealer) {
  let total = 0;
  for (const model of models.values()) {
    for (const field of model.encrypted) {
      const p = pending(model, field, sealer.activeKid);
      const rs = await client.execute({
        sql: `SELECT count(*) AS n FROM "${p.table}" WHERE ${p.where}`,
        args: p.args,
      });
      total += Number(rs.rows[0]?.n ?? 0);
    }
  }
  return total;
}

/**
 * Re-seals up to `maxBatches` batches of `batchSize` values (all when unbounded), each batch in
 * one transaction. Returns what it did and what is left.
 */
export async function reencrypt(
  client: Client,
  models: Models,
  sealer: Sealer,
  options: {
    batchSize?: number;
    maxBatches?: number;
    onBatch?: (p: RotationProgress) => void;
  } = {},
): Promise<RotationProgress> {
  const batchSize = options.batchSize ?? 200;
  let batches = 0;
  const progress: RotationProgress = { resealed: 0, remaining: 0, fields: {} };
  outer: for (const model of models.values()) {
    for (const field of model.encrypted) {
      const p = pending(model, field, sealer.activeKid);
      const label = `${model.name}.${field}`;
      let after = "";
      for (;;) {
        if (options.maxBatches !== undefined && batches >= options.maxBatches) break outer;
        const rs = await client.execute({
          sql: `SELECT id, "${p.column}" AS v FROM "${p.table}" WHERE ${p.where} AND id > ? ORDER BY id LIMIT ?`,
          args: [...p.args, after, batchSize],
        });
        if (rs.rows.length === 0) break;
        const updates = [];
        for (const row of rs.rows) {
          const id = String(row.id);
          const old = String(row.v);
          const context = fieldContext(model.name, id, field);
          const plain = isSealed(old) ? await sealer.open(old, context) : old;
          updates.push({
            sql: `UPDATE "${p.table}" SET "${p.column}" = ? WHERE id = ? AND "${p.column}" = ?`,
            args: [await sealer.seal(plain, context), id, old],
          });
        }
        const results = await client.batch(updates, "write");
        const done = results.reduce((n, r) => n + r.rowsAffected, 0);
        progress.resealed += done;
        progress.fields[label] = (progress.fields[label] ?? 0) + done;
        batches++;
        after = String(rs.rows.at(-1)!.id);
        options.onBatch?.(progress);
        if (rs.rows.length < batchSize) break;
      }
    }
  }
  progress.remaining = await rotationBacklog(client, models, sealer);
  return progress;
}
