import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { migrateDatabase } from "../../src/platform/node/migrate";
import { startReceiver } from "../../test/node/webhook-receiver";
import { type FaultProxy, startFaultProxy } from "../../tools/libsql-server/faults";
import { type LibsqlServer, startLibsqlServer } from "../../tools/libsql-server/server";
import { startWorkerd } from "../lib/workerd";
import { loadTestEnv, logIn, type NodeHome, signUp, sleep, startNodeHome } from "./lib";

const root = resolve(import.meta.dirname, "../..");

/** One line of bench/soak/probe.cjs (bytes; lag in ms). */
export interface ProbeLine {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers?: number;
  lagP99: number;
}

/** A home under test, as the soak and chaos scripts see it. */
export interface Home {
  kind: "node" | "workers";
  base: string;
  /** The server process (its pid changes across a restart). */
  pid(): number;
  /** Latest line of the Node probe (heap, loop lag), if any. */
  probe(): ProbeLine | undefined;
  /** Reads the database directly (reconciliation). */
  db: Client;
  /** The libSQL server and its fault proxy, when the home reaches libSQL over HTTP. */
  libsql?: { server: () => LibsqlServer; proxy: FaultProxy; restart(): Promise<void> };
  /** The webhook endpoint pointed at the receiver, and an admin token to manage it. */
  webhook?: { id: string; adminToken: string };
  /** Webhook receiver (Node home; the bare workerd has no queue or cron to deliver). */
  receiver?: Awaited<ReturnType<typeof startReceiver>>;
  /** SIGKILL the server and start it again on the same port and database. */
  killAndRestart(): Promise<void>;
  stop(): Promise<void>;
}

/** libSQL server on a file, migrated, behind a fault proxy. */
async function libsqlOverHttp(dir: string) {
  const path = join(dir, "primary.db");
  let server = await startLibsqlServer({ path });
  const port = server.port;
  const client = createClient({ url: server.url });
  await migrateDatabase(client);
  client.close();
  const proxy = await startFaultProxy({ target: server.url });
  return {
    server: () => server,
    proxy,
    /** A real restart: connections and open streams are cut, then the same file on the same port. */
    async restart() {
      await server.close();
      await sleep(500);
      server = await startLibsqlServer({ path, port });
    },
  };
}

/** Signs up an admin, promotes it in the database, and points a webhook endpoint at `url`. */
async function webhookEndpoint(base: string, db: Client, url: string) {
  const admin = await signUp(base, `soak-admin-${Date.now()}@example.com`);
  await db.execute({
    sql: "UPDATE nb_users SET role = 'admin' WHERE id = ?",
    args: [admin.userId],
  });
  const token = (await logIn(base, admin.email, admin.password)).accessToken;
  const res = await fetch(`${base}/api/webhooks`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ url, patterns: ["posts.created"], timeoutMs: 2000 }),
  });
  if (res.status !== 201) throw new Error(`webhook endpoint: ${res.status} ${await res.text()}`);
  return { id: ((await res.json()) as { id: string }).id, adminToken: token };
}

/**
 * What an operator does after a long receiver outage: an endpoint that failed
 * WEBHOOK_DISABLE_AFTER_FAILURES times in a row is switched off (by design); switch it on and
 * replay the range. Returns why it had been switched off, or undefined if it was on.
 */
export async function reenableWebhook(
  base: string,
  webhook: { id: string; adminToken: string },
  since: Date,
): Promise<string | undefined> {
  const auth = { authorization: `Bearer ${webhook.adminToken}` };
  const view = (await (
    await fetch(`${base}/api/webhooks/${webhook.id}`, { headers: auth })
  ).json()) as {
    enabled: boolean;
    disabledReason?: string | null;
  };
  if (view.enabled) return undefined;
  const json = { ...auth, "content-type": "application/json" };
  const on = await fetch(`${base}/api/webhooks/${webhook.id}`, {
    method: "PATCH",
    headers: json,
    body: JSON.stringify({ enabled: true }),
  });
  if (on.status !== 200) throw new Error(`re-enable: ${on.status} ${await on.text()}`);
  const replay = await fetch(`${base}/api/webhooks/${webhook.id}/replay`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ since: since.toISOString() }),
  });
  if (replay.status !== 202) throw new Error(`replay: ${replay.status} ${await replay.text()}`);
  return view.disabledReason ?? "switched off";
}

/**
 * A private copy of the built Node home (what `npm start` runs: dist/server.js), so another
 * session's `npm run build` cannot swap the bundle or its chunks under a long run: dist/*.js
 * copied into <dir>/app/dist, with migrations/, ui/, node_modules/ and package.json linked
 * beside it (the bundle finds migrations and the admin UI from its own URL, and the libSQL
 * binding from node_modules). Returns the path of the copied dist/server.js.
 */
export function stageBuiltNodeHome(dir: string, options: { build?: boolean } = {}): string {
  if (options.build !== false || !existsSync(join(root, "dist/server.js")))
    execFileSync(process.execPath, ["--import", "tsx", "scripts/build.ts", "--quiet"], {
      stdio: ["ignore", "inherit", "inherit"],
      cwd: root,
    });
  const app = join(dir, "app");
  mkdirSync(join(app, "dist"), { recursive: true });
  for (const f of readdirSync(join(root, "dist")))
    if (f.endsWith(".js") || f.endsWith(".js.map") || f === "openapi.json")
      cpSync(join(root, "dist", f), join(app, "dist", f));
  for (const f of ["migrations", "ui", "node_modules", "package.json"])
    if (existsSync(join(root, f))) symlinkSync(join(root, f), join(app, f));
  return join(app, "dist/server.js");
}

export async function startNodeSoakHome(
  dir: string,
  options: {
    db: "file" | "http";
    env?: Record<string, string>;
    /**
     * "tsx": src/platform/node/main.ts through tsx (the default; what `npm run dev` runs).
     * "dist": the built bundle, `node dist/server.js` (what `npm start` runs), staged by
     * stageBuiltNodeHome; `build: false` reuses the dist/ already there.
     */
    entry?: "tsx" | "dist";
    build?: boolean;
  },
): Promise<Home> {
  const libsql = options.db === "http" ? await libsqlOverHttp(dir) : undefined;
  const dbUrl = libsql ? libsql.proxy.url : `file:${join(dir, "soak.db")}`;
  const probeFile = join(dir, "probe.jsonl");
  const env = {
    ...loadTestEnv,
    DATABASE_URL: dbUrl,
    JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
    DATA_KEYS_FILE: join(dir, "data-keys.json"),
    ACCESS_TOKEN_TTL_SECONDS: "86400",
    SOAK_PROBE_FILE: probeFile,
    ...options.env,
  };
  const script =
    options.entry === "dist"
      ? ["--require", join(root, "bench/soak/probe.cjs"), stageBuiltNodeHome(dir, options)]
      : [
          "--require",
          join(root, "bench/soak/probe.cjs"),
          "--import",
          "tsx",
          "src/platform/node/main.ts",
        ];
  let home: NodeHome = await startNodeHome(env, { script });
  const db = createClient({ url: libsql ? libsql.server().url : dbUrl });
  const receiver = await startReceiver();
  const webhook = await webhookEndpoint(home.base, db, receiver.url("/soak"));
  return {
    kind: "node",
    base: home.base,
    pid: () => home.child.pid ?? 0,
    probe() {
      if (!existsSync(probeFile)) return undefined;
      const lines = readFileSync(probeFile, "utf8").trimEnd().split("\n");
      const last = lines.at(-1);
      return last ? (JSON.parse(last) as ProbeLine) : undefined;
    },
    db,
    libsql,
    receiver,
    webhook,
    async killAndRestart() {
      home.child.kill("SIGKILL");
      await home.exited;
      home = await startNodeHome(env, { script, port: home.port });
    },
    async stop() {
      await home.stop("SIGTERM");
      db.close();
      await receiver.close();
      await libsql?.proxy.close();
      await libsql?.server().close();
    },
  };
}

/**
 * The Workers home as a bare `workerd serve` of the worker `wrangler deploy` would upload (no
 * wrangler dev proxy: the pinned wrangler's proxy leaks sockets after ~30k requests), against
 * the local libSQL server over HTTP through the fault proxy. No cache service, Durable Objects
 * or queues here: SHARED_CACHE=off, no realtime, no webhook delivery (those need cron/queues).
 */
export async function startWorkersSoakHome(
  dir: string,
  options: { build?: boolean; env?: Record<string, string> } = {},
): Promise<Home> {
  const dist = join(root, "dist/soak-worker");
  if (options.build !== false || !existsSync(join(dist, "main.js"))) {
    execFileSync("wrangler", ["deploy", "--dry-run", "--env", "", "--outdir", dist], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      cwd: root,
    });
  }
  const libsql = await libsqlOverHttp(dir);
  const bindings: Record<string, string> = {
    DATABASE_URL: libsql.proxy.url,
    DATABASE_TIMEOUT_MS: "2000",
    JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
    LOG_LEVEL: "error",
    SHARED_CACHE: "off",
    ...Object.fromEntries(
      Object.entries(loadTestEnv).filter(
        ([k]) => !k.startsWith("WEBHOOK_") && k !== "LOG_LEVEL" && k !== "DISPATCH_POLL_MS",
      ),
    ),
    ACCESS_TOKEN_TTL_SECONDS: "86400",
    ...options.env,
  };
  const serve = {
    modules: { "main.js": readFileSync(join(dist, "main.js")) },
    bindings,
    ready: "/ready",
  };
  let workerd = await startWorkerd(serve);
  const db = createClient({ url: libsql.server().url });
  return {
    kind: "workers",
    base: workerd.base,
    pid: () => workerd.pid,
    probe: () => undefined,
    db,
    libsql,
    async killAndRestart() {
      await workerd.stop("SIGKILL");
      workerd = await startWorkerd({ ...serve, port: workerd.port });
    },
    async stop() {
      await workerd.stop();
      db.close();
      await libsql.proxy.close();
      await libsql.server().close();
    },
  };
}
