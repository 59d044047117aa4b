import type { Job } from "../events/jobs";
import type { Platform } from "../kernel/ports";
import type { Models } from "../records/model";
import { embedPending } from "./embed";
import { embeddersFromSecrets } from "./embedders";

/**
 * The scheduled embedding job both homes run with their other jobs: retries (with backoff) and
 * anything the after-write kick missed (a process stopped, an embedder down).
 */
export function embeddingJob(platform: Pick<Platform, "sql" | "secrets">, models: Models): Job {
  return {
    name: "embeddings",
    leaseMs: 5 * 60_000,
    everyMs: 30_000,
    run: (now) =>
      embedPending({
        sql: platform.sql,
        models,
        embedders: embeddersFromSecrets(platform.secrets),
        now: () => now,
      }),
  };
}
