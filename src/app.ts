import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { timing } from "hono/timing";
import type { Config } from "./config";
import { authConfigLoader } from "./core/accounts/config";
import { oauthProviders } from "./core/accounts/oauth/providers";
import { createAccountService } from "./core/accounts/service";
import { relyingPartyFrom } from "./core/accounts/webauthn";
import { engineSources } from "./core/events/outbox";
import { createWebhookService } from "./core/events/webhooks";
import { ApiError } from "./core/kernel/errors";
import type { Platform } from "./core/kernel/ports";
import { eventMetrics } from "./core/observability/metrics";
import { parsePolicy } from "./core/rate-limit/gcra";
import { libsqlStore, memoryStore } from "./core/rate-limit/stores";
import { createHub } from "./core/realtime/hub";
import type { CollectionDefinition } from "./core/records/define";
import { buildModels } from "./core/records/model";
import { createRecordService } from "./core/records/service";
import type { AppEnv, Services } from "./http/context";
import { onError, onNotFound } from "./http/error-handler";
import { authenticate as authenticateCaller } from "./http/middleware/authenticate";
import { collectionEdge } from "./http/middleware/edge";
import { createObservability } from "./http/middleware/observe";
import { rateLimit } from "./http/middleware/rate-limit";
import { selfFetch } from "./http/middleware/shared-cache";
import { apiDocument } from "./http/openapi";
import { authRoutes } from "./http/routes/auth";
import { adminUserRoutes } from "./http/routes/admin-users";
import { docsRoutes } from "./http/routes/docs";
import { healthRoutes } from "./http/routes/health";
import { apiKeyRoutes } from "./http/routes/keys";
import { oauthCallbackUrl, oauthRoutes } from "./http/routes/oauth";
import { otpRoutes } from "./http/routes/otp";
import { passkeyTestPageRoutes } from "./http/routes/passkey-test-page";
import { passkeyRoutes } from "./http/routes/passkeys";
import { observabilityRoutes } from "./http/routes/observability";
import { type RealtimeHome, realtimeRoutes } from "./http/routes/realtime";
import { collectionRoutes } from "./http/routes/records";
import { recoveryRoutes } from "./http/routes/recovery";
import { webhookRoutes } from "./http/routes/webhooks";
import { wellKnownRoutes } from "./http/routes/well-known";

export interface AppOptions {
  platform: Platform;
  config: Pick<
    Config,
    | "corsOrigins"
    | "bodyLimitBytes"
    | "logSampleRate"
    | "otlpEndpoint"
    | "otlpHeaders"
    | "serviceName"
    | "metricsToken"
    | "cacheVersionMemoMs"
    | "sharedCache"
    | "consistencyWindowMs"
    | "rateLimits"
    | "jwtIssuer"
    | "jwtAudience"
    | "accessTokenTtlSeconds"
    | "refreshTokenTtlDays"
    | "publicUrl"
    | "loginLimitPerAccount"
    | "loginLimitPerAccountTotal"
    | "credentialFailureLimit"
    | "forgotLimitPerAccount"
    | "passwordIterations"
    | "passkeys"
    | "oauth"
    | "webhooks"
    | "realtime"
  >;
  collections: readonly CollectionDefinition[];
  /** Identifies the caller and sets `c.get("principal")`; defaults to Nearbase's own auth. */
  authenticate?: MiddlewareHandler<AppEnv>;
  /**
   * How realtime streams are carried: the Workers home bridges to its Durable Objects; by
   * default an in-process hub tails the outbox (the Node home; see src/core/realtime/hub.ts).
   */
  realtime?: RealtimeHome;
}

const anonymous = { kind: "anonymous" } as const;

/**
 * Builds the one Nearbase app. Both homes call this with their platform; the middleware order
 * below is the request flow from DESIGN.md and lives nowhere else.
 */
export function createApp({ platform, config, collections, authenticate, realtime }: AppOptions) {
  const app = new Hono<AppEnv>();
  const models = buildModels(collections);
  // Signing keys load once, on first use (Workers secrets are only readable per request).
  const auth = authConfigLoader(platform, config);
  // The engine's services, once per process/isolate; handlers reach them on c.get("services").
  const services: Services = {
    records: createRecordService({
      models,
      primary: platform.sql,
      replica: platform.replica,
      now: () => platform.clock.now(),
    }),
    accounts: createAccountService({
      db: platform.db,
      sql: platform.sql,
      clock: platform.clock,
      log: platform.log,
      mailer: platform.mailer,
      auth,
      oauth: oauthProviders(config.oauth, (name) => oauthCallbackUrl(config.publicUrl, name)),
      redirectOrigins: [
        new URL(config.publicUrl).origin,
        ...config.corsOrigins.filter((o) => o !== "*"),
      ],
      relyingParty: relyingPartyFrom(config.publicUrl, config.passkeys),
    }),
    webhooks: createWebhookService({
      sql: platform.sql,
      settings: config.webhooks,
      log: platform.log,
      now: () => platform.clock.now().getTime(),
      resolve: platform.events.resolve,
      metrics: eventMetrics,
      sources: [...models.keys(), ...engineSources],
    }),
  };
  const realtimeHome = realtime ?? inProcessRealtime(platform, models, config.realtime);
  const observability = createObservability({
    log: platform.log,
    home: platform.name,
    logSampleRate: config.logSampleRate,
    otlp:
      config.otlpEndpoint === undefined
        ? undefined
        : {
            endpoint: config.otlpEndpoint,
            headers: config.otlpHeaders,
            serviceName: config.serviceName,
          },
    analytics: platform.analytics,
  });

  const edge = collectionEdge(models, {
    memoMs: config.cacheVersionMemoMs,
    enabled: config.sharedCache,
    consistencyWindowMs: config.consistencyWindowMs,
  });
  const localLimits = memoryStore();
  const sharedLimits = libsqlStore(platform.sql);
  const policies = Object.fromEntries(
    (["read", "write", "auth"] as const)
      .filter((cls) => config.rateLimits[cls] !== "off")
      .map((cls) => [cls, parsePolicy(cls, config.rateLimits[cls])]),
  );

  app.use(async function platformContext(c, next) {
    c.set("platform", platform);
    c.set("principal", anonymous);
    c.set("services", services);
    c.set("readOptions", {});
    c.set("wrote", undefined);
    c.set("selfFetch", (request) => selfFetch(app, request, c.env));
    await next();
  });
  app.use(requestId({ limitLength: 128 }));
  app.use(timing({ total: true, crossOrigin: false }));
  app.use(observability.middleware);
  app.use(secureHeaders({ crossOriginResourcePolicy: "cross-origin" }));
  if (config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: config.corsOrigins.includes("*") ? "*" : config.corsOrigins,
        exposeHeaders: [
          "x-request-id",
          "x-trace-id",
          "x-cache",
          "server-timing",
          "etag",
          "retry-after",
          "ratelimit",
          "ratelimit-policy",
          "nearbase-consistency",
        ],
        maxAge: 600,
      }),
    );
  }
  app.use(
    bodyLimit({
      maxSize: config.bodyLimitBytes,
      onError: () => {
        throw new ApiError(
          "PAYLOAD_TOO_LARGE",
          `Request bodies are limited to ${config.bodyLimitBytes} bytes.`,
        );
      },
    }),
  );

  // ── auth: sets c.get("principal") (middleware) ──
  app.use(authenticate ?? authenticateCaller());
  app.use(
    rateLimit({
      policies,
      // Auth limits must hold across processes and locations; read/write limits are local.
      stores: { auth: sharedLimits, read: localLimits, write: localLimits },
      clientIp: (c) => platform.clientIp(c),
    }),
  );
  app.use("/api/collections/*", edge);
  app.use("/api/batch", edge);
  // A committed write has outbox events: tell the dispatcher now rather than at its next poll.
  const notifyEvents: MiddlewareHandler<AppEnv> = async function notifyEvents(c, next) {
    await next();
    if (c.get("wrote") !== undefined) {
      platform.events.notify(c);
      realtimeHome.wake?.();
    }
  };
  app.use("/api/collections/*", notifyEvents);
  app.use("/api/batch", notifyEvents);

  app.get("/", (c) =>
    c.json({
      name: "nearbase",
      docs: "/docs",
      openapi: "/openapi.json",
      health: "/health",
      ready: "/ready",
    }),
  );
  app.route(
    "/",
    docsRoutes(() => apiDocument(models)),
  );
  app.route("/", healthRoutes);
  app.route("/", observabilityRoutes(observability, config.metricsToken));
  app.route("/", wellKnownRoutes());
  app.route("/api/auth", authRoutes());
  app.route("/api/auth", recoveryRoutes());
  app.route("/api/auth", oauthRoutes());
  app.route("/api/auth", otpRoutes());
  app.route("/api/auth", passkeyRoutes());
  if (config.passkeys.testPage) app.route("/", passkeyTestPageRoutes());
  app.route("/api/keys", apiKeyRoutes());
  app.route("/api/webhooks", webhookRoutes());
  app.route("/api/realtime", realtimeRoutes(realtimeHome, config.realtime));
  app.route("/api/admin/users", adminUserRoutes());
  app.route("/", collectionRoutes());

  app.notFound(onNotFound);
  app.onError(onError);
  return app;
}

export type App = ReturnType<typeof createApp>;

/** The default realtime home: an in-process hub over the primary (built lazily, idle until a stream opens). */
function inProcessRealtime(
  platform: Platform,
  models: ReturnType<typeof buildModels>,
  settings: Config["realtime"],
): RealtimeHome {
  const hub = createHub({
    db: platform.sql,
    models,
    settings,
    now: () => platform.clock.now().getTime(),
    log: platform.log,
  });
  return { gateway: () => hub, wake: () => hub.wake() };
}
