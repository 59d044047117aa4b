import { createApp } from "../../app";
import { collections } from "../../collections/index";
import { loadConfig } from "../../config";
import { dispatchOnce } from "../../core/events/dispatch";
import { runJobs, standardJobs } from "../../core/events/jobs";
import { problemResponse, toProblem } from "../../core/kernel/errors";
import { describeError } from "../../core/kernel/log";
import { deleteExpiredRateLimits } from "../../core/rate-limit/cleanup";
import { createWorkersPlatform, type EventsMessage, type WorkersPlatform } from "./platform";

type App = ReturnType<typeof createApp>;

// Built on the first request and kept for the isolate's life: one libSQL client, one app.
let built: { env: Env; app: App; platform: WorkersPlatform } | undefined;

function buildFor(env: Env) {
  if (built?.env !== env) {
    const config = loadConfig(env as unknown as Record<string, unknown>, "workers");
    const platform = createWorkersPlatform(config, env);
    built = { env, app: createApp({ platform, config, collections }), platform };
  }
  return built;
}

/** Housekeeping from the cron trigger in wrangler.toml (the Node home runs it on a timer). */
export async function housekeeping(env: Env, now = Date.now()): Promise<number> {
  const { platform } = buildFor(env);
  const deleted = await deleteExpiredRateLimits(platform.sql, now);
  platform.log.write({ level: "info", msg: "housekeeping", deleted });
  return deleted;
}

/**
 * The cron trigger's jobs (wrangler.toml): outbox sweep (deliveries a lost queue message left),
 * expired credentials and rate-limit rows, delivery-log pruning — each under a lease row.
 */
export function scheduledJobs(env: Env) {
  const { platform } = buildFor(env);
  return runJobs(platform.sql, standardJobs(platform.delivery), {
    now: () => Date.now(),
    log: platform.log,
  });
}

/**
 * The events queue's consumer: a message only says "the outbox has something"; the pass reads
 * the outbox and due deliveries from libSQL. A failed pass retries the messages (then the DLQ);
 * nothing is lost either way, because the cron sweep runs the same pass.
 */
export async function consumeEvents(batch: MessageBatch<EventsMessage>, env: Env) {
  const { platform } = buildFor(env);
  try {
    const done = await dispatchOnce(platform.delivery);
    platform.log.write({ level: "debug", msg: "events queue pass", ...done });
    batch.ackAll();
  } catch (err) {
    platform.log.write({
      level: "error",
      msg: "events queue pass failed",
      error: describeError(err),
    });
    batch.retryAll({ delaySeconds: 5 });
  }
}

export default {
  fetch(request, env, ctx) {
    let app: App;
    try {
      app = buildFor(env).app;
    } catch (err) {
      // A bad setting cannot be reported "at start" on Workers; say it in the log on every
      // request and answer with a problem that names no setting to the caller.
      console.error(
        JSON.stringify({ level: "error", msg: "configuration invalid", error: describeError(err) }),
      );
      return problemResponse(
        toProblem("CONFIG_INVALID", "The server is misconfigured; see its logs.", undefined),
      );
    }
    return app.fetch(request, env, ctx);
  },
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(
      scheduledJobs(env).catch((err: unknown) => {
        console.error(
          JSON.stringify({
            level: "error",
            msg: "scheduled jobs failed",
            error: describeError(err),
          }),
        );
      }),
    );
  },
  async queue(batch, env) {
    await consumeEvents(batch as MessageBatch<EventsMessage>, env);
  },
} satisfies ExportedHandler<Env>;
