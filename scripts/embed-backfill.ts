// `npm run embed:backfill [-- --batch 32] [--retry-failed]`: embeds the records of collections
// with a vector field that have no embedding yet (rows from before the field existed, or that
// the embeddings job has not reached), against DATABASE_URL with the EMBEDDINGS_* settings.
// Resumable: Ctrl-C stops after the batch in flight; run it again to go on from there.
import { parseArgs } from "node:util";
import { collections } from "../src/collections/index";
import { buildModels } from "../src/core/records/model";
import { backfillEmbeddings } from "../src/core/search/backfill";
import { embedderUsage } from "../src/core/search/embedder";
import { embeddersFromSecrets } from "../src/core/search/embedders";
import { openDatabase } from "./db";

const { values } = parseArgs({
  options: { batch: { type: "string" }, "retry-failed": { type: "boolean" } },
});
const batchSize = values.batch === undefined ? undefined : Number(values.batch);
if (
  batchSize !== undefined &&
  !(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 512)
) {
  console.error("usage: npm run embed:backfill -- [--batch 1..512] [--retry-failed]");
  process.exit(2);
}
if (!process.env.EMBEDDINGS_URL) {
  console.error(
    "EMBEDDINGS_URL is not set: there is no embedder to backfill with (see README, Search).",
  );
  process.exit(2);
}
const stop = new AbortController();
process.once("SIGINT", () => {
  console.error("stopping after the batch in flight…");
  stop.abort();
});
const { client, shown } = openDatabase();
const started = Date.now();
try {
  const env = process.env;
  const result = await backfillEmbeddings(
    {
      sql: client,
      models: buildModels(collections),
      embedders: embeddersFromSecrets({ get: async (name) => env[name] }),
      now: () => Date.now(),
    },
    {
      batchSize,
      retryFailed: values["retry-failed"] === true,
      signal: stop.signal,
      onProgress: (p) => {
        const s = (Date.now() - started) / 1000;
        const rate = s > 0 ? Math.round(p.embedded / s) : 0;
        console.log(
          `${p.ready}/${p.total} ready (${p.total ? Math.floor((100 * p.ready) / p.total) : 100}%), ${p.pending} pending, ${p.failed} failed; this run ${p.embedded} embedded, ${rate}/s`,
        );
      },
    },
  );
  const usage = `${embedderUsage.requests} embedder requests, ${embedderUsage.tokens} tokens, ${embedderUsage.retries} retries`;
  if (result.interrupted) {
    console.log(
      `interrupted in ${shown}: ${result.pending} still pending; run again to resume (${usage})`,
    );
    process.exitCode = 130;
  } else if (result.pending > 0) {
    console.log(
      `${result.pending} still pending in ${shown} (${result.waiting} failed and wait for their retry: see nb_embedding_failures; the embeddings job retries them) (${usage})`,
    );
    process.exitCode = 1;
  } else {
    console.log(
      `done: ${result.ready}/${result.total} ready, ${result.failed} failed in ${shown} (${usage})`,
    );
  }
} finally {
  client.close();
}
