import cluster from "node:cluster";
import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { createApp } from "../../app";
import { collections } from "../../collections/index";
import { type Config, ConfigError, loadConfig } from "../../config";
import { runJobs, standardJobs } from "../../core/events/jobs";
import { filesJob } from "../../core/files/sweep";
import { describeError, jsonLogger, type LogSink } from "../../core/kernel/log";
import { retentionJob } from "../../core/privacy/retention";
import { createHub } from "../../core/realtime/hub";
import { buildModels } from "../../core/records/model";
import { embeddingJob } from "../../core/search/job";
import { apiDocument } from "../../http/openapi";
import { fastPathServer } from "./cache-fast-path";
import { ensureDataKeys } from "./data-keys";
import { lockWaitLog, openNodeDatabase } from "./database";
import { collectAfterStart } from "./idle-gc";
import { createNodePlatform } from "./platform";
import { answerRefusedUpgrades, nodeRealtime } from "./realtime";
import { shedLoad, shedLog } from "./shed-load";
import { ensureSigningKeys } from "./signing-keys";

/** Scheduled jobs (the Workers home runs the same from its cron trigger). */
const jobsIntervalMs = 5 * 60_000;

/** The Node home: `npm start`. Embedded libSQL file by default, migrated on start. */
async function main() {
  const config = loadConfig(process.env, "node");
  const log = jsonLogger(config.logLevel, (line) => process.stdout.write(`${line}\n`));

  const workers = config.nodeWorkers === "auto" ? availableParallelism() : config.nodeWorkers;
  if (
    workers > 1 &&
    config.databasePrimaryUrl !== undefined &&
    config.databaseUrl.startsWith("file:")
  )
    throw new ConfigError([
      "NODE_WORKERS > 1 cannot share an embedded replica (a file: DATABASE_URL with DATABASE_PRIMARY_URL): run one process per replica file, or NODE_WORKERS=1",
    ]);
  if (workers > 1 && cluster.isPrimary) return supervise(config, workers, log);

  if (cluster.isPrimary && config.databaseUrl.startsWith("file:")) {
    const path = config.databaseUrl.slice("file:".length);
    mkdirSync(dirname(resolve(path)), { recursive: true });
  }
  // DATABASE_URL is the nearest copy; with DATABASE_PRIMARY_URL set, it is a read replica.
  const database = await openNodeDatabase({
    url: config.databaseUrl,
    primaryUrl: config.databasePrimaryUrl,
    authToken: config.databaseAuthToken,
    readBudgetMs: config.queryBudgetMs,
    timeoutMs: config.databaseTimeoutMs,
    syncIntervalSeconds: config.databaseSyncIntervalSeconds,
    synchronous: config.databaseSynchronous,
    onLockWait: lockWaitLog(log),
  });

  const env = {
    ...process.env,
    JWT_PRIVATE_KEYS:
      process.env.JWT_PRIVATE_KEYS || (await ensureSigningKeys(config.signingKeysFile)),
    DATA_ENCRYPTION_KEYS:
      process.env.DATA_ENCRYPTION_KEYS || ensureDataKeys(config.privacy.dataKeysFile),
  };
  const platform = createNodePlatform(config, { database, log, env });
  const models = buildModels(collections);
  // A configured bucket must answer now, not at the first upload (FILES_S3_*).
  await platform.files?.check?.();
  // Realtime: an in-process hub tailing the outbox (every instance on the database sees every write).
  const realtime = nodeRealtime(
    createHub({
      db: platform.sql,
      models,
      settings: config.realtime,
      now: () => platform.clock.now().getTime(),
      log,
    }),
  );
  const app = createApp({
    platform,
    config,
    collections,
    realtime,
    sharedRateLimits: workers > 1,
    // /openapi.json built in-process on its first request (the Workers home serves the built file).
    apiDocument,
  });
  const server = serve(
    {
      // A refused WebSocket upgrade is answered with its whole problem (src/platform/node/realtime.ts).
      fetch: answerRefusedUpgrades(
        shedLoad(closeAfterRefusedBody(app.fetch), {
          maxInFlight: config.maxInFlight,
          onShed: shedLog(log),
        }),
      ),
      port: config.port,
      hostname: config.host,
      // Fresh shared-cache hits are answered before the adapter and the app (cache-fast-path.ts).
      createServer: fastPathServer(app.sharedCacheHit),
      websocket: { server: realtime.wss },
    },
    (info) => {
      const host = info.address.includes(":") ? `[${info.address}]` : info.address;
      log.write({
        level: "info",
        msg: "listening",
        url: `http://${host}:${info.port}`,
        database: config.databaseUrl,
      });
      if (process.stdout.isTTY || process.env.npm_lifecycle_event === "start") {
        console.error(
          `Nearbase is listening on http://${host === "127.0.0.1" ? "localhost" : host}:${info.port} (database: ${config.databaseUrl})`,
        );
      }
    },
  );

  // Webhooks: the dispatcher resumes from the outbox and due deliveries kept in libSQL.
  platform.dispatcher.start();
  // Scheduled jobs under lease rows (safe with several processes on one database): outbox sweep,
  // expired credentials and rate-limit rows, delivery-log pruning.
  const jobs = standardJobs(platform.delivery, [
    retentionJob(platform.sql, models, config.privacy),
    filesJob({ sql: platform.sql, storage: platform.files, log }),
    embeddingJob(platform, models),
  ]);
  const housekeeping = setInterval(() => {
    runJobs(platform.sql, jobs, { now: () => Date.now(), log }).catch((err: unknown) =>
      log.write({ level: "warn", msg: "scheduled jobs failed", error: describeError(err) }),
    );
  }, jobsIntervalMs);
  housekeeping.unref();
  // Starting's garbage collected and the young generation shrunk once the server is quiet.
  collectAfterStart(server, log);

  // Graceful shutdown: stop accepting, close idle keep-alive connections, let in-flight requests
  // and deferred work finish within SHUTDOWN_GRACE_MS, close libSQL, exit 0. Past the bound the
  // remaining connections are cut and the exit code is 1 (the log says what was still open).
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = performance.now();
    clearInterval(housekeeping);
    log.write({ level: "info", msg: "shutting down", signal, graceMs: config.shutdownGraceMs });
    const deadline = setTimeout(() => {
      log.write({
        level: "warn",
        msg: "shutdown grace period over: cutting the remaining connections",
        graceMs: config.shutdownGraceMs,
      });
      if ("closeAllConnections" in server) server.closeAllConnections();
      database.close();
      process.exit(1);
    }, config.shutdownGraceMs);
    // Open streams would hold the server open: they get a `closing` message (clients reconnect elsewhere).
    void realtime.hub.stop();
    server.close(async () => {
      await platform.dispatcher.stop();
      await platform.settle();
      database.close();
      clearTimeout(deadline);
      log.write({
        level: "info",
        msg: "stopped",
        signal,
        durationMs: Math.round(performance.now() - started),
      });
      process.exit(0);
    });
    // Connections between requests would keep close() waiting until their keep-alive timeout.
    if ("closeIdleConnections" in server) server.closeIdleConnections();
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

/**
 * A body refused as too large (413) is answered before the rest of it is read. @hono/node-server
 * then drains the rest (500 ms at most) and closes the socket if it could not, while the answer
 * said keep-alive: a keep-alive client (fetch, undici, browsers) would send its next request into
 * the closing socket and see "other side closed". As Go's net/http does: a small declared
 * remainder (≤ 256 KiB) is drained and the connection kept; a larger or unknown one (chunked) gets
 * `Connection: close`, so the client opens a new connection for its next request.
 */
const drainableRemainderBytes = 256 * 1024;
function closeAfterRefusedBody<A extends unknown[]>(
  fetch: (request: Request, ...rest: A) => Response | Promise<Response>,
) {
  return async (request: Request, ...rest: A) => {
    const res = await fetch(request, ...rest);
    if (res.status !== 413) return res;
    const declared = Number(request.headers.get("content-length") ?? Number.NaN);
    if (declared <= drainableRemainderBytes) return res;
    const headers = new Headers(res.headers);
    headers.set("connection", "close");
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  };
}

/**
 * NODE_WORKERS > 1: this process migrates the database and makes the signing and data keys (so
 * workers never race to create them), then runs that many workers, each the whole app on the one WAL
 * file; connections are shared among them round-robin (node:cluster). What several processes
 * must agree on is in libSQL already — data versions, the outbox and its job leases, sessions,
 * credential failures, auth rate limits — and read/write limits move there too. A worker that
 * dies is replaced; SIGTERM/SIGINT stop every worker and then this process.
 */
async function supervise(config: Config, workers: number, log: LogSink) {
  if (config.databaseUrl.startsWith("file:")) {
    mkdirSync(dirname(resolve(config.databaseUrl.slice("file:".length))), { recursive: true });
  }
  const database = await openNodeDatabase({
    url: config.databaseUrl,
    primaryUrl: config.databasePrimaryUrl,
    authToken: config.databaseAuthToken,
    readConnections: 1,
    timeoutMs: config.databaseTimeoutMs,
  });
  database.close();
  if (!process.env.JWT_PRIVATE_KEYS) await ensureSigningKeys(config.signingKeysFile);
  // Made here, once: workers creating the file side by side would each seal with a key of their
  // own, and values sealed by one would not open in the others.
  if (!process.env.DATA_ENCRYPTION_KEYS) ensureDataKeys(config.privacy.dataKeysFile);

  let stopping = false;
  const started = new Map<number, number>();
  const alive = () => Object.keys(cluster.workers ?? {}).length;
  const stopAll = (signal: NodeJS.Signals) => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
  };
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping) {
      log.write({ level: "error", msg: "worker exited", worker: worker.id, code, signal });
      // A worker that dies as it starts would die again: stop rather than loop.
      if (Date.now() - (started.get(worker.id) ?? 0) >= 2000) {
        started.set(cluster.fork().id, Date.now());
        return;
      }
      stopping = true;
      process.exitCode = 1;
      stopAll("SIGTERM");
    }
    if (alive() === 0) process.exit();
  });
  for (let i = 0; i < workers; i++) started.set(cluster.fork().id, Date.now());
  log.write({ level: "info", msg: "supervising workers", workers });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.write({ level: "info", msg: "shutting down workers", signal });
    stopAll(signal);
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
  } else {
    console.error(
      JSON.stringify({ level: "error", msg: "failed to start", error: describeError(err) }),
    );
  }
  process.exit(1);
});
