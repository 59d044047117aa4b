import { isLogLevel, type LogLevel } from "./core/kernel/log";

/** Settings for one process (Node) or isolate (Workers), parsed and checked once. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  /** Where writes go when DATABASE_URL is a read replica; defaults to DATABASE_URL. */
  databasePrimaryUrl: string | undefined;
  /** "off" turns shared (edge) caching off; ETags and 304s stay. */
  sharedCache: boolean;
  /** Node home shared cache size. */
  cacheMaxBytes: number;
  /** How long an isolate trusts its memo of data versions (the cross-location staleness bound). */
  cacheVersionMemoMs: number;
  /** How long a read-your-writes token is honoured (at least the replicas' worst lag). */
  consistencyWindowMs: number;
  rateLimits: { read: string; write: string; auth: string };
  /** Node home behind a proxy: take the client address from X-Forwarded-For. */
  trustProxy: boolean;
  /** How many trusted proxies append to X-Forwarded-For (the client is that many from the right). */
  trustProxyHops: number;
  jwtIssuer: string;
  jwtAudience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  /** Where users open links from mail (reset, verify). */
  publicUrl: string;
  mail: { apiUrl: string | undefined; apiKey: string | undefined; from: string };
  /** Log-in attempts per account from one address, and per account from everywhere. */
  loginLimitPerAccount: string;
  loginLimitPerAccountTotal: string;
  /** Rejected credentials (bad tokens, API keys, passwords) per address, or "off". */
  credentialFailureLimit: string;
  forgotLimitPerAccount: string;
  /** PBKDF2-SHA256 iterations for new password hashes (Workers refuse more than 100,000). */
  passwordIterations: number;
  /** Node home: where signing keys are kept (created on first start) unless JWT_PRIVATE_KEYS is set. */
  signingKeysFile: string;
  oauth: {
    github?: { clientId: string; clientSecret: string };
    google?: { clientId: string; clientSecret: string };
    oidc?: { name: string; issuer: string; clientId: string; clientSecret: string };
  };
  corsOrigins: string[];
  bodyLimitBytes: number;
  logLevel: LogLevel;
  /** Share of successful requests that get a log line (errors always do). */
  logSampleRate: number;
  /** OTLP/HTTP collector base URL; spans are exported only when set. */
  otlpEndpoint: string | undefined;
  otlpHeaders: Record<string, string>;
  serviceName: string;
  /** Bearer token a Prometheus scraper presents at /metrics (admins need none). */
  metricsToken: string | undefined;
}

export type Home = "node" | "workers";

/** Raised at start with every bad setting named, and how to set it. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Source = Record<string, unknown>;

const howToSet: Record<Home, string> = {
  node: "set it in the environment (e.g. `NAME=value npm start`)",
  workers: "set it in wrangler.toml [vars], or as a secret with `npx wrangler secret put NAME`",
};

/**
 * Reads the settings from `process.env` (Node) or the Worker's bindings. Defaults make the Node
 * home run with no configuration at all; the Workers home needs a database URL.
 */
export function loadConfig(source: Source, home: Home): Config {
  const problems: string[] = [];
  const fail = (name: string, why: string) =>
    problems.push(`${name} ${why}; ${howToSet[home].replace("NAME", name)}.`);
  const read = (name: string): string | undefined => {
    const value = source[name];
    if (value === undefined || value === "") return undefined;
    if (typeof value !== "string") {
      fail(name, "must be a string");
      return undefined;
    }
    return value.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      fail(name, `must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return value;
  };

  const databaseUrl = read("DATABASE_URL") ?? (home === "node" ? "file:./data/nearbase.db" : "");
  if (databaseUrl === "") {
    fail("DATABASE_URL", "is required (libsql://…, https://… or http://127.0.0.1:8080 locally)");
  } else if (!/^(file:|libsql:|https?:|wss?:)/.test(databaseUrl)) {
    fail(
      "DATABASE_URL",
      `must start with file:, libsql:, http(s): or ws(s): (got ${JSON.stringify(databaseUrl)})`,
    );
  } else if (home === "workers" && databaseUrl.startsWith("file:")) {
    fail("DATABASE_URL", "cannot be a file: URL on Workers (there is no file system)");
  }

  const databasePrimaryUrl = read("DATABASE_PRIMARY_URL");
  if (
    databasePrimaryUrl !== undefined &&
    !/^(file:|libsql:|https?:|wss?:)/.test(databasePrimaryUrl)
  ) {
    fail("DATABASE_PRIMARY_URL", "must be a libSQL URL like DATABASE_URL");
  }
  const rateLimits = { read: "600/60s", write: "120/60s", auth: "20/60s" };
  for (const cls of ["read", "write", "auth"] as const) {
    const name = `RATE_LIMIT_${cls.toUpperCase()}`;
    const value = read(name);
    if (value === undefined) continue;
    if (value !== "off" && !/^\d{1,6}\/\d{1,5}[smh]$/.test(value)) {
      fail(name, `must look like 300/60s, 10/1m, 1000/1h or off (got ${JSON.stringify(value)})`);
    } else {
      rateLimits[cls] = value;
    }
  }

  const mailApiUrl = read("MAIL_API_URL");
  const mailApiKey = read("MAIL_API_KEY");
  if (mailApiUrl !== undefined && mailApiKey === undefined)
    fail("MAIL_API_KEY", "is required with MAIL_API_URL");
  const policy = (name: string, fallback: string) => {
    const value = read(name) ?? fallback;
    if (!/^\d{1,6}\/\d{1,5}[smh]$/.test(value))
      fail(name, `must look like 5/15m (got ${JSON.stringify(value)})`);
    return value;
  };
  const trustProxyRaw = read("TRUST_PROXY") ?? "false";
  if (trustProxyRaw !== "true" && trustProxyRaw !== "false")
    fail("TRUST_PROXY", `must be true or false (got ${JSON.stringify(trustProxyRaw)})`);
  const credentialFailureLimit = read("CREDENTIAL_FAILURE_LIMIT") ?? "30/1m";
  if (credentialFailureLimit !== "off" && !/^\d{1,6}\/\d{1,5}[smh]$/.test(credentialFailureLimit))
    fail(
      "CREDENTIAL_FAILURE_LIMIT",
      `must look like 30/1m or off (got ${JSON.stringify(credentialFailureLimit)})`,
    );
  const publicUrl = (read("PUBLIC_URL") ?? "http://localhost:8787").replace(/\/$/, "");
  if (!isPlainBaseUrl(publicUrl))
    fail("PUBLIC_URL", "must be an http(s) URL without query, fragment or credentials");

  const oauth: Config["oauth"] = {};
  const pair = (prefix: string) => {
    const clientId = read(`${prefix}_CLIENT_ID`);
    const clientSecret = read(`${prefix}_CLIENT_SECRET`);
    if ((clientId === undefined) !== (clientSecret === undefined)) {
      fail(`${prefix}_CLIENT_SECRET`, `and ${prefix}_CLIENT_ID must be set together`);
      return undefined;
    }
    return clientId === undefined || clientSecret === undefined
      ? undefined
      : { clientId, clientSecret };
  };
  const github = pair("OAUTH_GITHUB");
  if (github) oauth.github = github;
  const google = pair("OAUTH_GOOGLE");
  if (google) oauth.google = google;
  const oidc = pair("OAUTH_OIDC");
  if (oidc) {
    const issuer = read("OAUTH_OIDC_ISSUER");
    if (issuer === undefined || !/^https?:\/\/\S+$/.test(issuer))
      fail("OAUTH_OIDC_ISSUER", "must be the provider's issuer URL");
    else oauth.oidc = { ...oidc, issuer, name: read("OAUTH_OIDC_NAME") ?? "oidc" };
  }

  const logLevel = read("LOG_LEVEL") ?? "info";
  if (!isLogLevel(logLevel)) fail("LOG_LEVEL", "must be one of debug, info, warn, error");

  const corsOrigins = (read("CORS_ORIGINS") ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "");
  for (const origin of corsOrigins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      fail(
        "CORS_ORIGINS",
        `has ${JSON.stringify(origin)}, which is not * or an origin like https://app.example.com`,
      );
    }
  }

  const sampleRaw = read("LOG_SAMPLE_RATE") ?? "1";
  const logSampleRate = Number(sampleRaw);
  if (!(logSampleRate >= 0 && logSampleRate <= 1)) {
    fail("LOG_SAMPLE_RATE", `must be a number from 0 to 1 (got ${JSON.stringify(sampleRaw)})`);
  }
  const otlpEndpoint = read("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (otlpEndpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(otlpEndpoint)) {
    fail("OTEL_EXPORTER_OTLP_ENDPOINT", "must be an http(s) URL like http://127.0.0.1:4318");
  }
  const otlpHeaders: Record<string, string> = {};
  for (const pair of (read("OTEL_EXPORTER_OTLP_HEADERS") ?? "").split(",")) {
    if (pair.trim() === "") continue;
    const at = pair.indexOf("=");
    if (at <= 0) {
      fail("OTEL_EXPORTER_OTLP_HEADERS", "must be comma-separated key=value pairs");
      break;
    }
    otlpHeaders[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(
      pair.slice(at + 1).trim(),
    );
  }
  const metricsToken = read("METRICS_TOKEN");
  if (metricsToken !== undefined && metricsToken.length < 16) {
    fail("METRICS_TOKEN", "must be at least 16 characters (e.g. `openssl rand -hex 32`)");
  }

  const config: Config = {
    port: integer("PORT", 8787, 0, 65535),
    host: read("HOST") ?? "127.0.0.1",
    databaseUrl,
    databaseAuthToken: read("DATABASE_AUTH_TOKEN"),
    databasePrimaryUrl,
    sharedCache: read("SHARED_CACHE") !== "off",
    cacheMaxBytes: integer("CACHE_MAX_BYTES", 64 * 1024 * 1024, 0, 4 * 1024 * 1024 * 1024),
    cacheVersionMemoMs: integer("CACHE_VERSION_MEMO_MS", 1000, 0, 60_000),
    consistencyWindowMs: integer("CONSISTENCY_WINDOW_MS", 10_000, 0, 300_000),
    rateLimits,
    trustProxy: trustProxyRaw === "true",
    trustProxyHops: integer("TRUST_PROXY_HOPS", 1, 1, 10),
    jwtIssuer: read("JWT_ISSUER") ?? "nearbase",
    jwtAudience: read("JWT_AUDIENCE") ?? "nearbase",
    accessTokenTtlSeconds: integer("ACCESS_TOKEN_TTL_SECONDS", 900, 60, 86_400),
    refreshTokenTtlDays: integer("REFRESH_TOKEN_TTL_DAYS", 30, 1, 365),
    publicUrl,
    mail: {
      apiUrl: mailApiUrl,
      apiKey: mailApiKey,
      from: read("MAIL_FROM") ?? "Nearbase <no-reply@localhost>",
    },
    loginLimitPerAccount: policy("LOGIN_LIMIT_PER_ACCOUNT", "5/15m"),
    loginLimitPerAccountTotal: policy("LOGIN_LIMIT_PER_ACCOUNT_TOTAL", "100/1h"),
    credentialFailureLimit,
    forgotLimitPerAccount: policy("FORGOT_LIMIT_PER_ACCOUNT", "3/1h"),
    passwordIterations: integer("PASSWORD_ITERATIONS", 100_000, 10_000, 100_000),
    signingKeysFile: read("SIGNING_KEYS_FILE") ?? "./data/signing-keys.json",
    oauth,
    corsOrigins,
    bodyLimitBytes: integer("BODY_LIMIT_BYTES", 1024 * 1024, 1024, 100 * 1024 * 1024),
    logLevel: isLogLevel(logLevel) ? logLevel : "info",
    logSampleRate,
    otlpEndpoint,
    otlpHeaders,
    serviceName: read("OTEL_SERVICE_NAME") ?? "nearbase",
    metricsToken,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** An http(s) base URL that is safe to build links and discovery documents from. */
function isPlainBaseUrl(text: string): boolean {
  if (!/^https?:\/\/\S+$/.test(text)) return false;
  try {
    const url = new URL(text);
    return url.search === "" && url.hash === "" && url.username === "" && url.password === "";
  } catch {
    return false;
  }
}
