import { env as isolateEnv } from "cloudflare:workers";
import { createApp } from "../../app";
import { collections } from "../../collections/index";
import { ConfigError, loadConfig } from "../../config";
import { dispatchOnce } from "../../core/events/dispatch";
import { runJobs, standardJobs } from "../../core/events/jobs";
import { filesJob } from "../../core/files/sweep";
import { problemResponse, toProblem } from "../../core/kernel/errors";
import { describeError } from "../../core/kernel/log";
import { retentionJob } from "../../core/privacy/retention";
import { deleteExpiredRateLimits } from "../../core/rate-limit/cleanup";
import { memoryStore } from "../../core/rate-limit/stores";
import { buildModels } from "../../core/records/model";
import { embeddingJob } from "../../core/search/job";
import { createWorkersPlatform, type EventsMessage, type WorkersPlatform } from "./platform";
import { bindingStore } from "./rate-limit";
import { pokeShards, workersRealtime } from "./realtime";

/** The realtime Durable Object (wrangler.toml `REALTIME` binding). */
export { RealtimeShard } from "./realtime";

type App = ReturnType<typeof createApp>;
interface Built {
  env: Env;
  app: App;
  platform: WorkersPlatform;
}

function build(env: Env): Built {
  const config = loadConfig(env as unknown as Record<string, unknown>, "workers");
  const platform = createWorkersPlatform(config, env);
  const app = createApp({
    platform,
    config,
    collections,
    realtime: workersRealtime(env, config),
    rateLimitStores: rateLimitStores(env),
  });
  // Hono compiles its router on the first match; do it now rather than in a request.
  app.router.match("GET", "/");
  return { env, app, platform };
}

/**
 * Read/write limits: the isolate's memory, plus the READ_LIMITER / WRITE_LIMITER Rate Limiting
 * bindings when wrangler.toml declares them (each class on its own, so a home may have one).
 */
function rateLimitStores(env: Env) {
  const local = memoryStore();
  const bindings = env as unknown as Record<string, RateLimit | undefined>;
  const withBinding = (binding: RateLimit | undefined) =>
    binding === undefined ? local : bindingStore(binding, local);
  return { read: withBinding(bindings.READ_LIMITER), write: withBinding(bindings.WRITE_LIMITER) };
}

/** The same bindings: workerd hands handlers another object than `cloudflare:workers`' env. */
function sameBindings(a: Env, b: Env): boolean {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
}

// One app per isolate, kept for its life (one libSQL client, one router, one set of memos),
// built at global scope — during the TLS handshake, not in the first request — from the
// bindings `cloudflare:workers` exports. Bindings that differ (tests make homes with their own)
// get an app of their own, kept beside the others for as long as their bindings object lives:
// replacing one app with another lost its isolate-local state (rate-limit counters) whenever a
// queue batch or cron run with the isolate's bindings came between two requests of a test home.
// A bad setting is reported per request (see fetch).
let built: Built | undefined;
try {
  built = build(isolateEnv as Env);
} catch (err) {
  // A bad setting is reported by the first request, which builds again and fails the same way.
  // Anything else means the build did something workerd refuses at global scope (random values,
  // I/O, timers): the app still works, built by the first request, but say so.
  if (!(err instanceof ConfigError))
    console.warn(
      JSON.stringify({
        level: "warn",
        msg: "app not built at global scope; the first request builds it",
        error: describeError(err),
      }),
    );
  built = undefined;
}
const apps = new WeakMap<Env, Built>();

function buildFor(env: Env): Built {
  const known = apps.get(env);
  if (known !== undefined) return known;
  // workerd hands handlers another object than `cloudflare:workers`' env, with the same bindings:
  // the app built at global scope (or the last one built) serves it.
  const app =
    built !== undefined && (built.env === env || sameBindings(built.env, env)) ? built : build(env);
  built = app;
  apps.set(env, app);
  return app;
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
  const config = loadConfig(env as unknown as Record<string, unknown>, "workers");
  const retention = retentionJob(platform.sql, buildModels(collections), config.privacy);
  const files = filesJob({ sql: platform.sql, storage: platform.files, log: platform.log });
  const embeddings = embeddingJob(platform, buildModels(collections));
  return runJobs(platform.sql, standardJobs(platform.delivery, [retention, files, embeddings]), {
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
    // Realtime shards read the outbox themselves; the message only wakes them.
    await pokeShards(
      env,
      loadConfig(env as unknown as Record<string, unknown>, "workers").realtime.shards,
    );
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
    // The safety net for realtime too: a lost poke is caught up within a minute.
    ctx.waitUntil(
      pokeShards(
        env,
        loadConfig(env as unknown as Record<string, unknown>, "workers").realtime.shards,
      ).catch(() => {}),
    );
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
