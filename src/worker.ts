import { createApp } from "./app";
import { collections } from "./collections/index";
import { problemResponse, toProblem } from "./core/http/errors";
import { describeError } from "./core/observability/logger";
import { loadConfig } from "./env";
import { createWorkersPlatform } from "./platform/workers/platform";

type App = ReturnType<typeof createApp>;

// Built on the first request and kept for the isolate's life: one libSQL client, one app.
let built: { env: Env; app: App } | undefined;

function appFor(env: Env): App {
  if (built?.env !== env) {
    const config = loadConfig(env as unknown as Record<string, unknown>, "workers");
    const platform = createWorkersPlatform(env, config);
    built = { env, app: createApp({ platform, config, collections }) };
  }
  return built.app;
}

export default {
  fetch(request, env, ctx) {
    let app: App;
    try {
      app = appFor(env);
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
} satisfies ExportedHandler<Env>;
