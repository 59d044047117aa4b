import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { createApp } from "../../app";
import { collections } from "../../collections/index";
import { ConfigError, loadConfig } from "../../config";
import { runJobs, standardJobs } from "../../core/events/jobs";
import { describeError, jsonLogger } from "../../core/kernel/log";
import { createHub } from "../../core/realtime/hub";
import { buildModels } from "../../core/records/model";
import { openNodeDatabase } from "./database";
import { createNodePlatform } from "./platform";
import { nodeRealtime } from "./realtime";
import { ensureSigningKeys } from "./signing-keys";

/** Scheduled jobs (the Workers home runs the same from its cron trigger). */
const jobsIntervalMs = 5 * 60_000;

/** The Node home: `npm start`. Embedded libSQL file by default, migrated on start. */
async function main() {
  const config = loadConfig(process.env, "node");
  const log = jsonLogger(config.logLevel, (line) => process.stdout.write(`${line}\n`));

  if (config.databaseUrl.startsWith("file:")) {
    const path = config.databaseUrl.slice("file:".length);
    mkdirSync(dirname(resolve(path)), { recursive: true });
  }
  // DATABASE_URL is the nearest copy; with DATABASE_PRIMARY_URL set, it is a read replica.
  const database = await openNodeDatabase({
    url: config.databaseUrl,
    primaryUrl: config.databasePrimaryUrl,
    authToken: config.databaseAuthToken,
    readBudgetMs: config.queryBudgetMs,
  });

  const env = {
    ...process.env,
    JWT_PRIVATE_KEYS:
      process.env.JWT_PRIVATE_KEYS || (await ensureSigningKeys(config.signingKeysFile)),
  };
  const platform = createNodePlatform(config, { database, log, env });
  // Realtime: an in-process hub tailing the outbox (every instance on the database sees every write).
  const realtime = nodeRealtime(
    createHub({
      db: platform.sql,
      models: buildModels(collections),
      settings: config.realtime,
      now: () => platform.clock.now().getTime(),
      log,
    }),
  );
  const app = createApp({ platform, config, collections, realtime });
  const server = serve(
    {
      fetch: app.fetch,
      port: config.port,
      hostname: config.host,
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
  const jobs = standardJobs(platform.delivery);
  const housekeeping = setInterval(() => {
    runJobs(platform.sql, jobs, { now: () => Date.now(), log }).catch((err: unknown) =>
      log.write({ level: "warn", msg: "scheduled jobs failed", error: describeError(err) }),
    );
  }, jobsIntervalMs);
  housekeeping.unref();

  const stop = (signal: string) => {
    clearInterval(housekeeping);
    log.write({ level: "info", msg: "shutting down", signal });
    // Open streams would hold the server open: they get a `closing` message (clients reconnect elsewhere).
    void realtime.hub.stop();
    server.close(async () => {
      await platform.dispatcher.stop();
      await platform.settle();
      database.close();
      process.exit(0);
    });
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
