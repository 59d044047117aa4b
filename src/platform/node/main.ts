import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { createApp } from "../../app";
import { collections } from "../../collections/index";
import { ConfigError, loadConfig } from "../../config";
import { describeError, jsonLogger } from "../../core/kernel/log";
import { deleteExpiredRateLimits } from "../../core/rate-limit/cleanup";
import { openNodeDatabase } from "./database";
import { createNodePlatform } from "./platform";
import { ensureSigningKeys } from "./signing-keys";

const housekeepingIntervalMs = 15 * 60_000;

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
  const { client } = database;

  const env = {
    ...process.env,
    JWT_PRIVATE_KEYS:
      process.env.JWT_PRIVATE_KEYS || (await ensureSigningKeys(config.signingKeysFile)),
  };
  const platform = createNodePlatform(config, { database, log, env });
  const app = createApp({ platform, config, collections });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
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
  });

  // Housekeeping (the Workers home runs the same from its cron trigger): spent rate-limit rows.
  const housekeeping = setInterval(() => {
    deleteExpiredRateLimits(client, Date.now()).then(
      (deleted) => deleted > 0 && log.write({ level: "debug", msg: "housekeeping", deleted }),
      (err: unknown) =>
        log.write({ level: "warn", msg: "housekeeping failed", error: describeError(err) }),
    );
  }, housekeepingIntervalMs);
  housekeeping.unref();

  const stop = (signal: string) => {
    clearInterval(housekeeping);
    log.write({ level: "info", msg: "shutting down", signal });
    server.close(async () => {
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
