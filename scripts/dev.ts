// `npm run dev`: the Workers home on this machine. Starts the local libSQL HTTP server (standing
// in for Turso) on the migrated ./data/nearbase.db, then `wrangler dev` with DATABASE_URL pointed
// at it. The worker talks to libSQL over HTTP exactly as in production.
//
// Lifecycle: wrangler runs in a process group of its own (it starts workerd and esbuild under
// it); Ctrl-C, SIGTERM or SIGHUP here, or npm (or tsx) exiting, stops that whole group, then the
// libSQL server, so nothing keeps the ports. A watchdog stops the group too if this
// process dies without cleaning up (SIGKILL). Ports (PORT, LIBSQL_PORT, INSPECTOR_PORT) are
// checked before anything starts: one taken is a one-line message naming the variable.
// Output: a line per start-up step, then wrangler's one line per request (the worker's own
// request log is at LOG_LEVEL=warn unless you set LOG_LEVEL).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { createClient } from "@libsql/client";
import { migrateDatabase } from "../src/platform/node/migrate";
import { startLibsqlServer } from "../tools/libsql-server/server";
import { ensureDevVars } from "./dev-keys";

const dbPath = resolve(process.env.DEV_DB_PATH ?? "./data/nearbase.db");
const ports = {
  PORT: portSetting("PORT", 8787),
  LIBSQL_PORT: portSetting("LIBSQL_PORT", 0),
  INSPECTOR_PORT: portSetting("INSPECTOR_PORT", 9229),
};
const say = (line: string) => console.log(`nearbase dev: ${line}`);
/** A one-line refusal (no stack): what is wrong and which variable changes it. */
function refuse(line: string): never {
  console.error(`nearbase dev: ${line}`);
  process.exit(1);
}

function portSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    refuse(`${name}=${raw} is not a port number (0–65535)`);
  return port;
}

/** Whether 127.0.0.1:port can be listened on right now (0: any free port can). */
function free(port: number): Promise<boolean> {
  if (port === 0) return Promise.resolve(true);
  return new Promise((ok) => {
    const probe = createServer();
    probe.once("error", () => ok(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => ok(true)));
  });
}

for (const [name, port] of Object.entries(ports)) {
  if (!(await free(port)))
    refuse(`port ${port} is in use (${name}); stop what holds it or set ${name}=<another port>`);
}

mkdirSync(dirname(dbPath), { recursive: true });
// wrangler dev reads secrets from .dev.vars: a development signing key, made once.
await ensureDevVars();

say(`migrating ${dbPath} (DEV_DB_PATH)`);
const local = createClient({ url: `file:${dbPath}` });
await migrateDatabase(local);
local.close();

const server = await startLibsqlServer({ path: dbPath, port: ports.LIBSQL_PORT }).catch(
  (err: NodeJS.ErrnoException) =>
    err.code === "EADDRINUSE"
      ? refuse(`port ${ports.LIBSQL_PORT} is in use (LIBSQL_PORT); set LIBSQL_PORT=<another port>`)
      : Promise.reject(err),
);
say(`libSQL HTTP server on ${server.url} (LIBSQL_PORT)`);

let stopping = false;
let wrangler: ChildProcess | undefined;

/** Signals the wrangler group; false once it is gone. */
function signalGroup(signal: NodeJS.Signals): boolean {
  if (wrangler?.pid === undefined) return false;
  try {
    process.kill(-wrangler.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group has exited
  }
}

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    const running = wrangler !== undefined && wrangler.exitCode === null && !wrangler.signalCode;
    if (signalGroup("SIGTERM") && running) {
      // wrangler stops workerd on SIGTERM; whatever is left after 5 s is killed.
      const exited = new Promise((ok) => wrangler!.once("exit", ok));
      const timeout = new Promise((ok) => setTimeout(ok, 5000).unref());
      await Promise.race([exited, timeout]);
    }
    // Anything left in the group (workerd may outlive wrangler by a moment) goes.
    signalGroup("SIGKILL");
    await server.close();
  }
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => void stop(0));
}

// npm forwards a signal to its child, `sh -c "tsx scripts/dev.ts"`, which dies without passing
// it on: tsx and this process would live on holding the ports. So: stop when the process group's
// leader (npm, as a shell starts it) or this process's parent (tsx) is gone.
const group = processGroup();
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent || (group !== process.pid && !alive(group))) void stop(0);
}, 500).unref();

function processGroup(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  } catch {
    return Number(execFileSync("ps", ["-o", "pgid=", "-p", String(process.pid)]).toString());
  }
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

say(
  `starting wrangler dev on http://127.0.0.1:${ports.PORT} (PORT), inspector on ${ports.INSPECTOR_PORT} (INSPECTOR_PORT)`,
);
wrangler = spawn(
  "wrangler",
  [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(ports.PORT),
    "--inspector-port",
    String(ports.INSPECTOR_PORT),
    "--var",
    `DATABASE_URL:${server.url}`,
    // One line per request (wrangler's); the worker's own request log only when asked for.
    ...(process.env.LOG_LEVEL ? [] : ["--var", "LOG_LEVEL:warn"]),
    // Not in the terminal's foreground group, so no keyboard shortcuts (Ctrl-C still stops all).
    "--show-interactive-dev-session=false",
    ...process.argv.slice(2),
  ],
  {
    stdio: ["ignore", "inherit", "inherit"],
    // Its own process group, so stop() reaches workerd and esbuild under it as well.
    detached: true,
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  },
);
wrangler.once("exit", (code) => void stop(code ?? 0));

// If this process dies without stop() (SIGKILL), a watchdog outside both groups ends wrangler's.
spawn(
  "sh",
  [
    "-c",
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -TERM -"$2" 2>/dev/null; sleep 3; kill -KILL -"$2" 2>/dev/null',
    "watchdog",
    String(process.pid),
    String(wrangler.pid),
  ],
  { stdio: "ignore", detached: true },
).unref();

// The start-up progress line that says it is usable.
void (async () => {
  for (let i = 0; i < 120 && !stopping; i++) {
    await new Promise((ok) => setTimeout(ok, 500));
    const ok = await fetch(`http://127.0.0.1:${ports.PORT}/health`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return say(`ready: http://127.0.0.1:${ports.PORT} (docs at /docs)`);
  }
})();
