// `npm run dev`: the Workers home on this machine. Starts the local libSQL HTTP server (standing
// in for Turso) on the migrated ./data/nearbase.db, then `wrangler dev` with DATABASE_URL pointed
// at it; Ctrl-C stops both. The worker talks to libSQL over HTTP exactly as in production.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { createClient } from "@libsql/client";
import { migrateDatabase } from "../src/platform/node/migrate";
import { startLibsqlServer } from "../tools/libsql-server/server";
import { ensureDevVars } from "./dev-keys";

const dbPath = resolve(process.env.DEV_DB_PATH ?? "./data/nearbase.db");
const port = process.env.PORT ?? "8787";
mkdirSync(resolve("./data"), { recursive: true });

// wrangler dev reads secrets from .dev.vars: a development signing key, made once.
await ensureDevVars();

const local = createClient({ url: `file:${dbPath}` });
await migrateDatabase(local);
local.close();

const server = await startLibsqlServer({
  path: dbPath,
  port: Number(process.env.LIBSQL_PORT ?? 0),
});
console.log(`libSQL HTTP server on ${server.url} (db: ${dbPath})`);

const wrangler = spawn(
  "wrangler",
  [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    port,
    "--var",
    `DATABASE_URL:${server.url}`,
    ...process.argv.slice(2),
  ],
  { stdio: "inherit", env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
);

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  if (wrangler.exitCode === null) wrangler.kill("SIGINT");
  await server.close();
  process.exit(code);
}
wrangler.on("exit", (code) => void stop(code ?? 0));
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
