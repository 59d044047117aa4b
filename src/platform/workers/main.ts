import { createApp } from "../../app";
import { collections } from "../../collections/index";
import { loadConfig } from "../../config";
import { problemResponse, toProblem } from "../../core/kernel/errors";
import { describeError } from "../../core/kernel/log";
import type { Platform } from "../../core/kernel/ports";
import { deleteExpiredRateLimits } from "../../core/rate-limit/cleanup";
import { createWorkersPlatform } from "./platform";

type App = ReturnType<typeof createApp>;

// Built on the first request and kept for the isolate's life: one libSQL client, one app.
let built: { env: Env; app: App; platform: Platform } | undefined;

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
      housekeeping(env).catch((err: unknown) => {
        console.error(
          JSON.stringify({ level: "error", msg: "housekeeping failed", error: describeError(err) }),
        );
      }),
    );
  },
} satisfies ExportedHandler<Env>;
