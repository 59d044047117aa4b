// `npm run libsql:serve -- [--db ./data/nearbase.db] [--port 8080] [--host 127.0.0.1] [--token T]
//   [--replica-of PRIMARY.db --lag-ms 1000]` (a read-only replica trailing PRIMARY.db by lag-ms)
// The local libSQL HTTP server alone, for pointing any libSQL client (or wrangler dev) at a file.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startLibsqlServer } from "../src/dev/libsql-server";

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
const path = resolve(values.db);
const server = await startLibsqlServer({
  path,
  host: values.host,
  port: Number(values.port),
  authToken: values.token,
  replicaOf: values["replica-of"]
    ? { source: resolve(values["replica-of"]), lagMs: Number(values["lag-ms"]) }
    : undefined,
  log: (line) => console.error(line),
});
console.log(`libsql server listening on ${server.url} (db: ${path})`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)));
}
