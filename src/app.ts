import { Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { Config } from "./config";
import { authConfigLoader } from "./core/accounts/config";
import { oauthProviders } from "./core/accounts/oauth/providers";
import { createAccountService } from "./core/accounts/service";
import { relyingPartyFrom } from "./core/accounts/webauthn";
import { VersionMemo } from "./core/edge/versions";
import { engineSources } from "./core/events/outbox";
import { createWebhookService } from "./core/events/webhooks";
import { createFileService } from "./core/files/service";
import { fileTokenKeys } from "./core/files/tokens";
import { ApiError } from "./core/kernel/errors";
import type { Platform } from "./core/kernel/ports";
import { loadSealer } from "./core/kernel/seal";
import { eventMetrics } from "./core/observability/metrics";
import { createPrivacyService } from "./core/privacy/service";
import { parsePolicy } from "./core/rate-limit/gcra";
import { libsqlStore, memoryStore, type RateLimitStore } from "./core/rate-limit/stores";
import { createHub } from "./core/realtime/hub";
import type { CollectionDefinition } from "./core/records/define";
import { buildModels, type Models } from "./core/records/model";
import { createRecordService } from "./core/records/service";
import { limitBodySize } from "./http/body";
import type { AppEnv, Services } from "./http/context";
import { credentialFreePaths } from "./http/credential-free";
import { onError, onNotFound } from "./http/error-handler";
import { graphqlModule } from "./http/graphql";
import { allowedMethods } from "./http/method-not-allowed";
import { authenticate as authenticateCaller } from "./http/middleware/authenticate";
import { collectionEdge } from "./http/middleware/edge";
import { createObservability } from "./http/middleware/observe";
import { rateLimit } from "./http/middleware/rate-limit";
import { selfFetch } from "./http/middleware/shared-cache";
import { sharedCacheHits } from "./http/middleware/shared-cache-hit";
import { strictQuery } from "./http/middleware/strict-query";
import { adminUiHeaders, adminUiRoutes } from "./http/routes/admin-ui";
import { adminUserRoutes } from "./http/routes/admin-users";
import { auditRoutes } from "./http/routes/audit";
import { authRoutes } from "./http/routes/auth";
import { docsRoutes } from "./http/routes/docs";
import { fileRoutes, isMultipart } from "./http/routes/files";
import { healthRoutes } from "./http/routes/health";
import { apiKeyRoutes } from "./http/routes/keys";
import { mfaRoutes } from "./http/routes/mfa";
import { oauthCallbackUrl, oauthRoutes } from "./http/routes/oauth";
import { observabilityRoutes } from "./http/routes/observability";
import { otpRoutes } from "./http/routes/otp";
import { passkeyTestPageRoutes } from "./http/routes/passkey-test-page";
import { passkeyRoutes } from "./http/routes/passkeys";
import { privacyRoutes } from "./http/routes/privacy";
import { type RealtimeHome, realtimeRoutes } from "./http/routes/realtime";
import { collectionRoutes } from "./http/routes/records";
import { recoveryRoutes } from "./http/routes/recovery";
import { embedAfterWrites, searchRoutes } from "./http/routes/search";
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
    | "graphqlIntrospection"
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
    | "passwordHash"
    | "passkeys"
    | "stepUpMaxAgeSeconds"
    | "oauth"
    | "webhooks"
    | "privacy"
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
  /**
   * Read and write limits in libSQL too, not in this process's memory: set when several
   * processes serve one database (NODE_WORKERS), so a caller's budget is not multiplied by them.
   */
  sharedRateLimits?: boolean;
  /**
   * Read and write limits kept elsewhere than this process's memory: the Workers home adds the
   * Rate Limiting binding to the isolate's own state (src/platform/workers/rate-limit.ts).
   */
  rateLimitStores?: { read: RateLimitStore; write: RateLimitStore };
  /**
   * Builds /openapi.json in this process, on its first request: the Node home passes
   * `apiDocument` (src/http/openapi.ts). Without it the app serves the document the build wrote
   * into the static assets (ui/dist/_/openapi.json, scripts/build-openapi.ts) through the ASSETS
   * binding: the Workers home, whose script so leaves the builder out (issue #21). Same bytes
   * either way (test/conformance/docs.suite.ts).
   */
  apiDocument?: (models: Models) => Record<string, unknown>;
}

const anonymous = { kind: "anonymous" } as const;
const requestIdLimit = 128;

/**
 * Builds the one Nearbase app. Both homes call this with their platform; the middleware order
 * below is the request flow from DESIGN.md and lives nowhere else.
 */
export function createApp({
  platform,
  config,
  collections,
  authenticate,
  realtime,
  sharedRateLimits,
  rateLimitStores,
  apiDocument,
}: AppOptions) {
  const app = new Hono<AppEnv>();
  const models = buildModels(collections);
  // Signing keys load once, on first use (Workers secrets are only readable per request).
  const auth = authConfigLoader(platform, config);
  // Data keys for encrypted fields (DATA_ENCRYPTION_KEYS), read from the secret store on use.
  const sealer = () => loadSealer(platform.secrets);
  const records = createRecordService({
    models,
    primary: platform.sql,
    replica: platform.replica,
    now: () => platform.clock.now(),
    sealer,
  });
  // The engine's services, once per process/isolate; handlers reach them on c.get("services").
  const services: Services = {
    records,
    files: createFileService({
      models,
      records,
      sql: platform.sql,
      storage: platform.files,
      images: platform.images,
      tokenKeys: fileTokenLoader(platform),
      now: () => platform.clock.now(),
      log: platform.log,
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
      secrets: platform.secrets,
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
    privacy: createPrivacyService({
      sql: platform.sql,
      models,
      sealer,
      now: () => platform.clock.now(),
      log: platform.log,
      settings: config.privacy,
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
    requestIdLimit,
  });

  // One version memo for the REST and GraphQL edge layers: a write through either API moves
  // this isolate's cache keys for both at once.
  const versionMemo = new VersionMemo(config.cacheVersionMemoMs);
  const edge = collectionEdge(models, {
    memoMs: config.cacheVersionMemoMs,
    memo: versionMemo,
    enabled: config.sharedCache,
    consistencyWindowMs: config.consistencyWindowMs,
  });
  const sharedLimits = libsqlStore(platform.sql);
  const localLimits = sharedRateLimits ? sharedLimits : memoryStore();
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
  // Request id, Server-Timing and telemetry, in one middleware (src/http/middleware/observe.ts).
  app.use(observability.middleware);
  app.use("/_/*", adminUiHeaders);
  // The fields every answer gets; the Node home's cache fast path puts the same on its hits.
  const answerMiddlewares: MiddlewareHandler<AppEnv>[] = [
    secureHeaders({ crossOriginResourcePolicy: "cross-origin" }),
  ];
  if (config.corsOrigins.length > 0) {
    const anyOrigin = config.corsOrigins.includes("*");
    answerMiddlewares.push(
      cors({
        origin: anyOrigin ? "*" : config.corsOrigins,
        // Named origins may send cookies (the refresh-token cookie, nb_consistency); "*" may not.
        credentials: !anyOrigin,
        exposeHeaders: [
          "x-request-id",
          "x-trace-id",
          "x-cache",
          "server-timing",
          "etag",
          "location",
          "www-authenticate",
          "allow",
          "retry-after",
          "ratelimit",
          "ratelimit-policy",
          "nearbase-consistency",
        ],
        maxAge: 600,
      }),
    );
  }
  for (const m of answerMiddlewares) app.use(m);
  const limitBody = limitBodySize(config.bodyLimitBytes);
  app.use(async function limitRequestBody(c, next) {
    // GET and HEAD bodies are never read; asking for one makes @hono/node-server build a full
    // Request for every read (4 % of a get-by-id's CPU in a profile).
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    // Uploads have their collection's own limit, enforced while the body is read
    // (src/http/routes/files.ts readForm): the records routes and the batch are the only ones
    // taking multipart.
    if (
      (c.req.path.startsWith("/api/collections/") || c.req.path === "/api/batch") &&
      isMultipart(c)
    )
      return next();
    // Direct uploads: the URL's signed size, checked against Content-Length before reading.
    if (c.req.method === "PUT" && c.req.path.startsWith("/api/files/uploads/")) return next();
    return limitBody(c, next);
  });

  // ── auth: sets c.get("principal") (middleware) ──
  // Health checks, discovery and the docs never read credentials: a stale token must not make
  // them answer 401 (their docs say `auth: "none"`; the OpenAPI test holds the two together).
  const identify = authenticate ?? authenticateCaller();
  app.use(async function authenticateUnlessCredentialFree(c, next) {
    if (credentialFreePaths.has(c.req.path)) return next();
    return identify(c, next);
  });
  // Auth limits must hold across processes and locations; read/write limits are local.
  const limitStores = {
    auth: sharedLimits,
    read: rateLimitStores?.read ?? localLimits,
    write: rateLimitStores?.write ?? localLimits,
  };
  app.use(rateLimit({ policies, stores: limitStores, clientIp: (c) => platform.clientIp(c) }));
  // Query parameters a route's docs do not name are refused (400 INVALID_QUERY), before any
  // cache layer or handler; after the rate limit, so the refusal carries its headers too.
  app.use(strictQuery());
  app.use("/api/collections/*", edge);
  app.use("/api/batch", edge);
  // An erasure moves cache versions: the edge layer learns them, so no cached answer holding the
  // erased data is served by this isolate after the commit.
  app.use("/api/me", edge);
  app.use("/api/admin/users/:id/erase", edge);
  // A committed write has outbox events: tell the dispatcher now rather than at its next poll.
  const notifyEvents: MiddlewareHandler<AppEnv> = async function notifyEvents(c, next) {
    await next();
    if (c.get("wrote") !== undefined) {
      platform.events.notify(c);
      realtimeHome.wake?.(c);
    }
  };
  app.use("/api/collections/*", notifyEvents);
  app.use("/api/batch", notifyEvents);
  // A direct upload's PUT is a record write: read-your-writes token, outbox nudge.
  app.use("/api/files/uploads/*", edge, notifyEvents);
  // Records whose vector source changed are embedded after the response (src/core/search).
  const embedKick = embedAfterWrites(models, versionMemo);
  app.use("/api/collections/*", embedKick);
  app.use("/api/batch", embedKick);
  // GraphQL: the same services, edge cache and read-your-writes as the REST routes above.
  const graphql = graphqlModule(models, {
    introspection: config.graphqlIntrospection,
    memo: versionMemo,
    sharedCache: config.sharedCache,
    consistencyWindowMs: config.consistencyWindowMs,
  });
  app.use("/graphql", graphql.edge);
  app.use("/graphql", notifyEvents);

  app.route("/", docsRoutes(apiDocument && (() => apiDocument(models))));
  app.route("/", healthRoutes);
  app.route("/", observabilityRoutes(observability, config.metricsToken));
  app.route("/", wellKnownRoutes());
  app.route("/api/auth", authRoutes({ refreshTokenTtlDays: config.refreshTokenTtlDays }));
  app.route("/api/auth", recoveryRoutes());
  app.route("/api/auth", oauthRoutes());
  app.route("/api/auth", otpRoutes());
  app.route("/api/auth", passkeyRoutes());
  app.route("/api/auth", mfaRoutes({ refreshTokenTtlDays: config.refreshTokenTtlDays }));
  if (config.passkeys.testPage) app.route("/", passkeyTestPageRoutes());
  app.route("/api/keys", apiKeyRoutes());
  app.route("/api/webhooks", webhookRoutes());
  app.route("/", privacyRoutes());
  app.route("/api/admin/audit", auditRoutes());
  app.route("/api/admin/users", adminUserRoutes());
  app.route("/", adminUiRoutes());
  app.route("/api/realtime", realtimeRoutes(realtimeHome, config.realtime));
  app.route("/", collectionRoutes());
  app.route(
    "/",
    searchRoutes({
      memo: versionMemo,
      enabled: config.sharedCache,
      consistencyWindowMs: config.consistencyWindowMs,
    }),
  );
  // Public files are edge-cached like the records they belong to (same memo, same versions).
  app.route(
    "/",
    fileRoutes({
      memo: versionMemo,
      enabled: config.sharedCache,
      consistencyWindowMs: config.consistencyWindowMs,
    }),
  );
  app.route("/", graphql.routes);

  // A known path asked with a method it does not take: 405 with Allow, not 404.
  const allowed = allowedMethods(app);
  app.notFound((c) => {
    const allow = allowed(c.req.path);
    if (allow === undefined) return onNotFound(c);
    const detail = `${c.req.method} is not allowed here; use ${allow}.`;
    return onError(new ApiError("METHOD_NOT_ALLOWED", detail, { headers: { allow } }), c);
  });
  app.onError(onError);
  // Fresh shared-cache hits answered before the app (src/platform/node/cache-fast-path.ts).
  const sharedCacheHit = sharedCacheHits({
    models,
    memo: versionMemo,
    platform,
    enabled: config.sharedCache,
    observability,
    answerMiddlewares,
    cors: config.corsOrigins.length > 0,
    readLimit: policies.read && { policy: policies.read, store: limitStores.read },
    appOnly: authenticate !== undefined,
    requestIdLimit,
  });
  return Object.assign(app, { sharedCacheHit });
}

export type App = ReturnType<typeof createApp>;

/** File-token keys from JWT_PRIVATE_KEYS, derived on first use (retried after a failure). */
function fileTokenLoader(platform: Platform) {
  let loaded: ReturnType<typeof fileTokenKeys> | undefined;
  return () => {
    loaded ??= platform.secrets.get("JWT_PRIVATE_KEYS").then((json) => {
      if (json === undefined || json === "") throw new Error("JWT_PRIVATE_KEYS is not set");
      return fileTokenKeys(json);
    });
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };
}

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
