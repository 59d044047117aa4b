// The dataset and settings the workerd benchmarks share (bench:workers-cpu, bench/workers/
// profile-reads.ts): a fresh migrated libSQL HTTP server with 40 published posts by usr_bench,
// the bench user with a session, and the bindings a bare workerd runs the built worker with.
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { loadConfig } from "../../src/config";
import { loadAuthConfig } from "../../src/core/accounts/config";
import { startSession } from "../../src/core/accounts/sessions";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { createUser } from "../../src/core/accounts/users";
import { createDatabase } from "../../src/core/db/client";
import { migrateDatabase } from "../../src/platform/node/migrate";
import { startLibsqlServer } from "../../tools/libsql-server/server";

export interface WorkersBenchData {
  /** The libSQL server's URL (what DATABASE_URL names). */
  url: string;
  /** Bindings of the worker (text only): limits out of the way, shared cache off. */
  env: Record<string, string>;
  /** The 40 published posts' ids. */
  ids: string[];
  /** `Authorization` of the bench user (the author of every post). */
  bearer: { authorization: string };
  close(): Promise<void>;
}

/** Starts a libSQL server on `<work>/bench.db`, migrates and seeds it. */
export async function seedWorkersBench(work: string): Promise<WorkersBenchData> {
  const db = await startLibsqlServer({ path: join(work, "bench.db") });
  const client = createClient({ url: db.url });
  await migrateDatabase(client);
  const keys = JSON.stringify([await generateSigningJwk()]);
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    JWT_PRIVATE_KEYS: keys,
    LOG_LEVEL: "warn",
    // A bare workerd has no cache service (its Cache API fails), so reads are measured uncached.
    SHARED_CACHE: "off",
    RATE_LIMIT_READ: "100000/60s",
    RATE_LIMIT_WRITE: "100000/60s",
    RATE_LIMIT_AUTH: "100000/60s",
  };
  const now = new Date();
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    const id = `pst_bench${String(i).padStart(6, "0")}`;
    ids.push(id);
    await client.execute({
      sql: "INSERT INTO posts (id, created, updated, title, status, author) VALUES (?, ?, ?, ?, 'published', 'usr_bench')",
      args: [id, now.toISOString(), now.toISOString(), `post ${i}`],
    });
  }
  const config = loadConfig(env, "node");
  const auth = await loadAuthConfig({ secrets: { get: async () => keys } }, config);
  const user = await createUser(
    createDatabase(client),
    { email: "bench@example.test", role: "user", emailVerified: true },
    now,
  );
  const { accessToken } = await startSession(createDatabase(client), auth, user!, "bench", now);
  return {
    url: db.url,
    env,
    ids,
    bearer: { authorization: `Bearer ${accessToken}` },
    close: async () => {
      client.close();
      await db.close();
    },
  };
}

/** The read scenarios of issue #22, as paths (+ whether they carry the bench user's token). */
export const readScenarios = (ids: string[]) =>
  [
    { name: "public list", path: () => "/api/collections/posts/records?limit=20", auth: false },
    {
      name: "owner list",
      path: () => "/api/collections/posts/records?limit=20&filter=author%3D'usr_bench'",
      auth: true,
    },
    {
      name: "get by id",
      path: (i: number) => `/api/collections/posts/records/${ids[i % ids.length]}`,
      auth: false,
    },
  ] as const;
