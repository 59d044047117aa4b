// `npm run libsql:serve -- [--db ./data/nearbase.db] [--port 8080] [--host 127.0.0.1] [--token T]
//   [--replica-of PRIMARY.db --lag-ms 1000]` (a read-only replica trailing PRIMARY.db by lag-ms)
// The local libSQL HTTP server alone, for pointing any libSQL client (or wrangler dev) at a file.
// `--db :memory:` serves a throwaway database. Migrations are `npm run db:migrate`'s job.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startLibsqlServer } from "../tools/libsql-server/server";

const { values } = parseArgs({
  options: {
    db: { type: "string", default: "./data/nearbase.db" },
    port: { type: "string", default: "8080" },
    host: { type: "string", default: "127.0.0.1" },
    token: { type: "string" },
    "replica-of": { type: "string" },
    "lag-ms": { type: "string", default: "1000" },
  },
});
const port = Number(values.port);
const lagMs = Number(values["lag-ms"]);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !(lagMs >= 0)) {
  console.error("usage: --port must be 0-65535 and --lag-ms a non-negative number");
  process.exit(2);
}
const path = values.db === ":memory:" ? values.db : resolve(values.db);
const server = await startLibsqlServer({
  path,
  host: values.host,
  port,
  authToken: values.token,
  replicaOf: values["replica-of"] ? { source: resolve(values["replica-of"]), lagMs } : undefined,
  log: (line) => console.error(line),
}).catch((err: unknown) => {
  console.error(`libsql server failed to start: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
console.log(`libsql server listening on ${server.url} (db: ${path})`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)));
}
