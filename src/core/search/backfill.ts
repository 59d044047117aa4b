import { sql } from "drizzle-orm";
import { columnName } from "../records/columns";
import { statement } from "../records/sql";
import { type EmbedDeps, embedBatchSize, embedPending, retryFailed, vectorModels } from "./embed";
import { resolveVector } from "./spec";

export interface BackfillProgress {
  /** Records with a vector (ready) over all records of the vector collections. */
  ready: number;
  total: number;
  pending: number;
  failed: number;
  /** Embedded by this run so far. */
  embedded: number;
}

export interface BackfillOptions {
  batchSize?: number;
  /** Put `failed` records back to `pending` first (a clean slate of attempts). */
  retryFailed?: boolean;
  /** Stops between batches (Ctrl-C): what is written stays written; a rerun resumes. */
  signal?: AbortSignal;
  onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillResult extends BackfillProgress {
  interrupted: boolean;
  /** Pending records that failed this run and wait for their backoff (the job retries them). */
  waiting: number;
  /** Vector collections whose embedder is not configured (nothing was done for them). */
  unconfigured: number;
}

async function tally(deps: EmbedDeps): Promise<Omit<BackfillProgress, "embedded">> {
  const out = { ready: 0, total: 0, pending: 0, failed: 0 };
  for (const model of vectorModels(deps.models)) {
    const v = resolveVector(model.def.options.vector!);
    const status = sql.identifier(columnName(model.fields.get(v.status)!.column));
    const rs = await deps.sql.execute(
      statement(
        sql`SELECT count(*) AS total, coalesce(sum(${status} = 'ready'), 0) AS ready, coalesce(sum(${status} = 'pending'), 0) AS pending, coalesce(sum(${status} = 'failed'), 0) AS failed FROM ${model.table}`,
      ),
    );
    const row = rs.rows[0]!;
    out.total += Number(row.total);
    out.ready += Number(row.ready);
    out.pending += Number(row.pending);
    out.failed += Number(row.failed);
  }
  return out;
}

/**
 * `npm run embed:backfill`: embeds every pending record of every collection with a vector field
 * (rows that existed before the field did, or that the job has not reached), one batch at a time
 * through the same code as the embedding job (embedPending: conditional writes, attempts and
 * backoff), reporting progress after each batch. Resumable by construction: the state is each
 * row's status, so an interrupted run (the signal, or a killed process) loses at most the batch
 * in flight, and a rerun picks up the rows still pending; a ready row is never embedded again.
 * Stops when nothing pending is due (rows that just failed wait for their backoff).
 */
export async function backfillEmbeddings(
  deps: EmbedDeps,
  options: BackfillOptions = {},
): Promise<BackfillResult> {
  if (options.retryFailed) await retryFailed(deps);
  let embedded = 0;
  let interrupted = false;
  let last = { embedded: 0, failed: 0, retrying: 0, pending: 0, unconfigured: 0 };
  options.onProgress?.({ ...(await tally(deps)), embedded });
  for (;;) {
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    last = (await embedPending(deps, {
      maxBatches: 1,
      batchSize: options.batchSize ?? embedBatchSize,
    })) as typeof last;
    embedded += last.embedded;
    options.onProgress?.({ ...(await tally(deps)), embedded });
    // Nothing due is left: everything embedded, failed, waiting for a retry, or unconfigured.
    if (last.embedded === 0 && last.failed === 0 && last.retrying === 0) break;
    if (last.pending === 0) break;
  }
  const now = await tally(deps);
  const due = await deps.sql.execute({
    sql: "SELECT count(*) AS n FROM nb_embedding_failures WHERE next_at > ?",
    args: [deps.now()],
  });
  return {
    ...now,
    embedded,
    interrupted,
    waiting: Number(due.rows[0]?.n ?? 0),
    unconfigured: last.unconfigured,
  };
}
