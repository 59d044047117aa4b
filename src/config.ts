import { builtInProviders, type OAuthConfig } from "./core/accounts/oauth/providers";
import { type HashParams, type PasswordProfile, passwordProfiles } from "./core/accounts/passwords";
import type { WebhookSettings } from "./core/events/settings";
import { isLogLevel, type LogLevel } from "./core/kernel/log";
import { parsePolicy } from "./core/rate-limit/gcra";
import type { RealtimeSettings } from "./core/realtime/protocol";

/** Settings for one process (Node) or isolate (Workers), parsed and checked once. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  /** Where writes go when DATABASE_URL is a read replica; defaults to DATABASE_URL. */
  databasePrimaryUrl: string | undefined;
  /** Node home, embedded file: how long one read may run before it is interrupted. */
  queryBudgetMs: number;
  /** Node home: how long SIGTERM waits for in-flight requests and deferred work before exiting. */
  shutdownGraceMs: number;
  /** Longest wait for one libSQL call over HTTP (a hanging server becomes a 503, not a hung request). */
  databaseTimeoutMs: number;
  /** Node home: how often a `file:` DATABASE_URL with a primary (an embedded replica) pulls. */
  databaseSyncIntervalSeconds: number;
  /**
   * Node home, embedded file: `normal` (default) makes a commit durable across a process crash;
   * `full` also across an OS crash, power loss or a disk error (an fsync per commit).
   */
  databaseSynchronous: "normal" | "full";
  /** "off" turns shared (edge) caching off; ETags and 304s stay. */
  sharedCache: boolean;
  /** GraphQL introspection (and GraphiQL at GET /graphql): on in development by default. */
  graphqlIntrospection: boolean;
  /** Node home shared cache size. */
  cacheMaxBytes: number;
  /** How long an isolate trusts its memo of data versions (the cross-location staleness bound). */
  cacheVersionMemoMs: number;
  /** How long a read-your-writes token is honoured (at least the replicas' worst lag). */
  consistencyWindowMs: number;
  /** Per-class limits in the rate-limit grammar (`300/60s`), or "off". */
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
  /** How recent a sign-in (or step-up) sensitive account actions need. */
  stepUpMaxAgeSeconds: number;
  /** How new password hashes are made (PASSWORD_PROFILE, or PASSWORD_ITERATIONS for PBKDF2). */
  passwordHash: HashParams;
  /** Node home: where signing keys are kept (created on first start) unless JWT_PRIVATE_KEYS is set. */
  signingKeysFile: string;
  /** Node home: where uploaded files are stored (the Workers home uses the FILES R2 binding). */
  filesDir: string;
  /** Node home: an S3-compatible bucket for files instead of FILES_DIR (all four FILES_S3_* set). */
  filesS3?: { url: string; region: string; accessKeyId: string; secretAccessKey: string };
  /** Node home: requests handled at once per process before new ones get 503 (0: no limit). */
  maxInFlight: number;
  /** Node home: worker processes serving the one database ("auto": one per core). */
  nodeWorkers: number | "auto";
  /** Passkeys: RP ID (default PUBLIC_URL's host), RP name, extra origins, the development test page. */
  passkeys: {
    rpId: string | undefined;
    rpName: string;
    origins: string[];
    testPage: boolean;
    /** A user-verified passkey sign-in satisfies two-factor sign-in (no TOTP code asked). */
    satisfiesMfa: boolean;
  };
  oauth: OAuthConfig;
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
  webhooks: WebhookSettings;
  /** Export, erasure, retention and field-encryption settings (src/core/privacy). */
  privacy: {
    auditRetentionMs: number;
    reauthWindowMs: number;
    exportLimit: string;
    /** Node home: where data keys are kept (created on first start) unless DATA_ENCRYPTION_KEYS is set. */
    dataKeysFile: string;
  };
  realtime: RealtimeSettings;
}

export type Home = "node" | "workers";

/** Raised at start with every bad setting named, and how to set it. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** A parser's refusal: says what the value must look like. */
class Invalid extends Error {}

type Parse<T> = (raw: string, home: Home) => T;

/** One setting: its variable, concern, meaning, default, and the parser that checks it. */
export interface Setting<T = unknown> {
  name: string;
  group:
    | "server"
    | "db"
    | "auth"
    | "edge"
    | "limits"
    | "mail"
    | "oauth"
    | "events"
    | "telemetry"
    | "privacy"
    | "search";
  doc: string;
  /** The raw default (parsed like a set value), per home when it differs; undefined = unset. */
  fallback?: string | ((home: Home) => string | undefined);
  /** Homes where the setting means something; setting it elsewhere is an error. */
  homes?: readonly Home[];
  parse: Parse<T>;
}

// ── parsers: one per kind of value, shared by every setting of that kind ──
const text: Parse<string> = (raw) => raw;
const integer =
  (min: number, max: number): Parse<number> =>
  (raw) => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || value < min || value > max)
      throw new Invalid(`must be a whole number from ${min} to ${max}`);
    return value;
  };
const boolean: Parse<boolean> = (raw) => {
  if (raw !== "true" && raw !== "false") throw new Invalid("must be true or false");
  return raw === "true";
};
const onOff: Parse<boolean> = (raw) => {
  if (raw !== "on" && raw !== "off") throw new Invalid("must be on or off");
  return raw === "on";
};
const fraction: Parse<number> = (raw) => {
  const value = Number(raw);
  if (raw === "" || !(value >= 0 && value <= 1)) throw new Invalid("must be a number from 0 to 1");
  return value;
};
const httpUrl: Parse<string> = (raw) => {
  if (!/^https?:\/\/\S+$/.test(raw)) throw new Invalid("must be an http(s) URL");
  return raw;
};
const libsqlUrl: Parse<string> = (raw, home) => {
  if (!/^(file:|libsql:|https?:|wss?:)/.test(raw))
    throw new Invalid("must start with file:, libsql:, http(s): or ws(s):");
  if (home === "workers" && raw.startsWith("file:"))
    throw new Invalid("cannot be a file: URL on Workers (there is no file system)");
  return raw;
};
/** The rate-limit grammar, checked by the very parser the limiter uses at run time. */
const policy =
  (allowOff: boolean): Parse<string> =>
  (raw) => {
    if (allowOff && raw === "off") return raw;
    try {
      parsePolicy("setting", raw);
    } catch (err) {
      throw new Invalid(
        `${(err as Error).message.replace(/^rate limit setting /, "")}${allowOff ? " (or off)" : ""}`,
      );
    }
    return raw;
  };
const baseUrl: Parse<string> = (raw) => {
  const trimmed = raw.replace(/\/$/, "");
  if (!isPlainBaseUrl(trimmed))
    throw new Invalid("must be an http(s) URL without query, fragment or credentials");
  return trimmed;
};
const origins: Parse<string[]> = (raw) => {
  const list = raw
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "");
  for (const origin of list) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin))
      throw new Invalid(
        `has ${JSON.stringify(origin)}, which is not * or an origin like https://app.example.com`,
      );
  }
  return list;
};
const headers: Parse<Record<string, string>> = (raw) => {
  const out: Record<string, string> = {};
  for (const pair of raw.split(",")) {
    if (pair.trim() === "") continue;
    const at = pair.indexOf("=");
    if (at <= 0) throw new Invalid("must be comma-separated key=value pairs");
    try {
      out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(
        pair.slice(at + 1).trim(),
      );
    } catch {
      throw new Invalid("has malformed percent-encoding");
    }
  }
  return out;
};
const logLevel: Parse<LogLevel> = (raw) => {
  if (!isLogLevel(raw)) throw new Invalid("must be one of debug, info, warn, error");
  return raw;
};
/** A PKCS#8 private key in PEM (a .p8 file), as its DER bytes; `\\n` stands for a line break. */
const pkcs8Pem: Parse<Uint8Array> = (raw) => {
  const pem = raw.replace(/\\n/g, "\n").trim();
  const body = /^-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----$/.exec(
    pem,
  );
  let der: Uint8Array | undefined;
  try {
    der = body
      ? Uint8Array.from(atob(body[1]!.replace(/\s/g, "")), (c) => c.charCodeAt(0))
      : undefined;
  } catch {
    der = undefined;
  }
  if (der === undefined || der[0] !== 0x30)
    throw new Invalid("must be a PKCS#8 private key in PEM (-----BEGIN PRIVATE KEY-----…)");
  return der;
};
const secret =
  (minLength: number, hint: string): Parse<string> =>
  (raw) => {
    if (raw.length < minLength)
      throw new Invalid(`must be at least ${minLength} characters (${hint})`);
    return raw;
  };

/** A setting, keeping whether it has a default in its type (so parsed values are typed exactly). */
function setting<T, const F extends Setting["fallback"] = undefined>(
  s: Omit<Setting<T>, "fallback"> & { fallback?: F },
): Setting<T> & { fallback: F } {
  return s as Setting<T> & { fallback: F };
}

/**
 * Every setting Nearbase reads, grouped by concern. The README's configuration table documents
 * the same list (a test keeps them in step).
 */
export const settings = {
  port: setting({
    name: "PORT",
    group: "server",
    doc: "Node home listen port",
    fallback: "8787",
    homes: ["node"],
    parse: integer(0, 65535),
  }),
  host: setting({
    name: "HOST",
    group: "server",
    doc: "Node home listen address",
    fallback: "127.0.0.1",
    homes: ["node"],
    parse: text,
  }),
  nodeWorkers: setting({
    name: "NODE_WORKERS",
    group: "server",
    doc: "Node home worker processes (auto = one per core)",
    fallback: "1",
    homes: ["node"],
    parse: (raw): number | "auto" => {
      if (raw === "auto") return raw;
      if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 256)
        throw new Invalid("must be auto or a whole number from 1 to 256");
      return Number(raw);
    },
  }),
  maxInFlight: setting({
    name: "MAX_IN_FLIGHT_REQUESTS",
    group: "server",
    doc: "Node home: requests handled at once per process; more are refused 503 + Retry-After (0 = no limit)",
    fallback: "256",
    homes: ["node"],
    parse: integer(0, 1_000_000),
  }),
  trustProxy: setting({
    name: "TRUST_PROXY",
    group: "server",
    doc: "client address from X-Forwarded-For",
    fallback: "false",
    homes: ["node"],
    parse: boolean,
  }),
  trustProxyHops: setting({
    name: "TRUST_PROXY_HOPS",
    group: "server",
    doc: "proxies that append to X-Forwarded-For",
    fallback: "1",
    homes: ["node"],
    parse: integer(1, 10),
  }),
  publicUrl: setting({
    name: "PUBLIC_URL",
    group: "server",
    doc: "base of links in mail, OAuth and discovery",
    fallback: "http://localhost:8787",
    parse: baseUrl,
  }),
  corsOrigins: setting({
    name: "CORS_ORIGINS",
    group: "server",
    doc: "origins allowed cross-origin, or *",
    fallback: "",
    parse: origins,
  }),
  bodyLimitBytes: setting({
    name: "BODY_LIMIT_BYTES",
    group: "server",
    doc: "largest request body",
    fallback: "1048576",
    parse: integer(1024, 100 * 1024 * 1024),
  }),

  databaseUrl: setting<string, (home: Home) => string | undefined>({
    name: "DATABASE_URL",
    group: "db",
    doc: "libSQL URL (the nearest copy)",
    fallback: (home: Home) => (home === "node" ? "file:./data/nearbase.db" : undefined),
    parse: libsqlUrl,
  }),
  databasePrimaryUrl: setting({
    name: "DATABASE_PRIMARY_URL",
    group: "db",
    doc: "where writes go when DATABASE_URL is a replica",
    parse: libsqlUrl,
  }),
  databaseAuthToken: setting({
    name: "DATABASE_AUTH_TOKEN",
    group: "db",
    doc: "Turso database token",
    parse: text,
  }),
  queryBudgetMs: setting({
    name: "QUERY_BUDGET_MS",
    group: "db",
    doc: "embedded file: longest read before it is interrupted",
    fallback: "1000",
    homes: ["node"],
    parse: integer(50, 60_000),
  }),
  shutdownGraceMs: setting({
    name: "SHUTDOWN_GRACE_MS",
    group: "db",
    doc: "Node home: on SIGTERM/SIGINT, how long in-flight requests and deferred work may take",
    fallback: "10000",
    homes: ["node"],
    parse: integer(0, 600_000),
  }),
  databaseTimeoutMs: setting({
    name: "DATABASE_TIMEOUT_MS",
    group: "db",
    doc: "longest wait for one libSQL call over HTTP before the request answers 503",
    fallback: "5000",
    parse: integer(100, 300_000),
  }),
  databaseSyncIntervalSeconds: setting({
    name: "DATABASE_SYNC_INTERVAL_SECONDS",
    group: "db",
    doc: "Node home, file: DATABASE_URL + DATABASE_PRIMARY_URL: how often the embedded replica pulls from the primary",
    fallback: "1",
    homes: ["node"],
    parse: integer(1, 3600),
  }),
  databaseSynchronous: setting({
    name: "DATABASE_SYNCHRONOUS",
    group: "db",
    doc: "Node home, embedded file: normal (a commit survives a process crash) or full (also an OS crash, power loss or disk error; an fsync per commit)",
    fallback: "normal",
    homes: ["node"],
    parse: (raw): "normal" | "full" => {
      if (raw !== "normal" && raw !== "full") throw new Invalid("must be normal or full");
      return raw;
    },
  }),

  jwtIssuer: setting({
    name: "JWT_ISSUER",
    group: "auth",
    doc: "pinned issuer",
    fallback: "nearbase",
    parse: text,
  }),
  jwtAudience: setting({
    name: "JWT_AUDIENCE",
    group: "auth",
    doc: "pinned audience",
    fallback: "nearbase",
    parse: text,
  }),
  accessTokenTtlSeconds: setting({
    name: "ACCESS_TOKEN_TTL_SECONDS",
    group: "auth",
    doc: "access token lifetime",
    fallback: "900",
    parse: integer(60, 86_400),
  }),
  refreshTokenTtlDays: setting({
    name: "REFRESH_TOKEN_TTL_DAYS",
    group: "auth",
    doc: "refresh token lifetime",
    fallback: "30",
    parse: integer(1, 365),
  }),
  passwordProfile: setting({
    name: "PASSWORD_PROFILE",
    group: "auth",
    doc: "password hashing cost: free (Workers free plan), standard, strong (scrypt; paid plan or Node)",
    fallback: "standard",
    parse: (raw): PasswordProfile => {
      if (raw !== "free" && raw !== "standard" && raw !== "strong")
        throw new Invalid("must be free, standard or strong");
      return raw;
    },
  }),
  passwordIterations: setting({
    name: "PASSWORD_ITERATIONS",
    group: "auth",
    doc: "PBKDF2-SHA256 iterations for new hashes, instead of a profile (tests)",
    parse: integer(10_000, 100_000),
  }),
  filesDir: setting({
    name: "FILES_DIR",
    group: "server",
    doc: "where the Node home stores uploaded files (Workers: the FILES R2 binding)",
    fallback: "./data/files",
    homes: ["node"],
    parse: text,
  }),
  filesS3Url: setting({
    name: "FILES_S3_URL",
    group: "server",
    doc: "Node home: store files in this S3-compatible bucket (its URL) instead of FILES_DIR",
    homes: ["node"],
    parse: httpUrl,
  }),
  filesS3Region: setting({
    name: "FILES_S3_REGION",
    group: "server",
    doc: "the bucket's signing region (auto for R2)",
    fallback: "auto",
    homes: ["node"],
    parse: text,
  }),
  filesS3AccessKeyId: setting({
    name: "FILES_S3_ACCESS_KEY_ID",
    group: "server",
    doc: "the bucket's access key id",
    homes: ["node"],
    parse: text,
  }),
  filesS3SecretAccessKey: setting({
    name: "FILES_S3_SECRET_ACCESS_KEY",
    group: "server",
    doc: "the bucket's secret access key",
    homes: ["node"],
    parse: text,
  }),
  signingKeysFile: setting({
    name: "SIGNING_KEYS_FILE",
    group: "auth",
    doc: "where the Node home keeps generated signing keys",
    fallback: "./data/signing-keys.json",
    homes: ["node"],
    parse: text,
  }),

  sharedCache: setting({
    name: "SHARED_CACHE",
    group: "edge",
    doc: "off stops shared caching",
    fallback: "on",
    parse: onOff,
  }),
  graphqlIntrospection: setting({
    name: "GRAPHQL_INTROSPECTION",
    group: "limits",
    doc: "GraphQL introspection and GraphiQL: on, off, or auto (on while PUBLIC_URL is localhost)",
    fallback: "auto",
    parse: (raw): boolean | "auto" => {
      if (raw !== "on" && raw !== "off" && raw !== "auto")
        throw new Invalid("must be on, off or auto");
      return raw === "auto" ? raw : raw === "on";
    },
  }),
  cacheMaxBytes: setting({
    name: "CACHE_MAX_BYTES",
    group: "edge",
    doc: "Node home shared cache size",
    fallback: "67108864",
    homes: ["node"],
    parse: integer(0, 4 * 1024 * 1024 * 1024),
  }),
  cacheVersionMemoMs: setting({
    name: "CACHE_VERSION_MEMO_MS",
    group: "edge",
    doc: "staleness bound for other locations",
    fallback: "1000",
    parse: integer(0, 60_000),
  }),
  consistencyWindowMs: setting({
    name: "CONSISTENCY_WINDOW_MS",
    group: "edge",
    doc: "read-your-writes window",
    fallback: "10000",
    parse: integer(0, 300_000),
  }),

  rateLimitRead: setting({
    name: "RATE_LIMIT_READ",
    group: "limits",
    doc: "reads per account (else address)",
    fallback: "600/60s",
    parse: policy(true),
  }),
  rateLimitWrite: setting({
    name: "RATE_LIMIT_WRITE",
    group: "limits",
    doc: "writes per account (else address)",
    fallback: "120/60s",
    parse: policy(true),
  }),
  rateLimitAuth: setting({
    name: "RATE_LIMIT_AUTH",
    group: "limits",
    doc: "auth requests per address",
    fallback: "20/60s",
    parse: policy(true),
  }),
  loginLimitPerAccount: setting({
    name: "LOGIN_LIMIT_PER_ACCOUNT",
    group: "limits",
    doc: "log-ins per account and address",
    fallback: "5/15m",
    parse: policy(false),
  }),
  loginLimitPerAccountTotal: setting({
    name: "LOGIN_LIMIT_PER_ACCOUNT_TOTAL",
    group: "limits",
    doc: "log-ins per account",
    fallback: "100/1h",
    parse: policy(false),
  }),
  forgotLimitPerAccount: setting({
    name: "FORGOT_LIMIT_PER_ACCOUNT",
    group: "limits",
    doc: "recovery mails per account",
    fallback: "3/1h",
    parse: policy(false),
  }),
  credentialFailureLimit: setting({
    name: "CREDENTIAL_FAILURE_LIMIT",
    group: "limits",
    doc: "rejected credentials per address",
    fallback: "30/1m",
    parse: policy(true),
  }),

  mailApiUrl: setting({
    name: "MAIL_API_URL",
    group: "mail",
    doc: "HTTP mail provider endpoint",
    parse: httpUrl,
  }),
  mailApiKey: setting({
    name: "MAIL_API_KEY",
    group: "mail",
    doc: "HTTP mail provider key",
    parse: text,
  }),
  mailFrom: setting({
    name: "MAIL_FROM",
    group: "mail",
    doc: "sender of mail",
    fallback: "Nearbase <no-reply@localhost>",
    parse: text,
  }),

  stepUpMaxAgeSeconds: setting({
    name: "STEP_UP_MAX_AGE_SECONDS",
    group: "auth",
    doc: "how recent a sign-in sensitive account actions need",
    fallback: "600",
    parse: integer(30, 86_400),
  }),
  passkeyRpId: setting({
    name: "PASSKEY_RP_ID",
    group: "auth",
    doc: "passkeys' relying party id (a registrable suffix of PUBLIC_URL's host)",
    parse: (raw) => {
      if (!/^[a-z0-9.-]+$/.test(raw)) throw new Invalid("must be a host name such as example.com");
      return raw;
    },
  }),
  passkeyRpName: setting({
    name: "PASSKEY_RP_NAME",
    group: "auth",
    doc: "the name authenticators show for passkeys",
    fallback: "Nearbase",
    parse: text,
  }),
  passkeyOrigins: setting({
    name: "PASSKEY_ORIGINS",
    group: "auth",
    doc: "origins besides PUBLIC_URL's that passkey ceremonies may come from",
    fallback: "",
    parse: (raw, home) => {
      const list = origins(raw, home);
      if (list.includes("*")) throw new Invalid("must list origins (not *)");
      return list;
    },
  }),
  passkeySatisfiesMfa: setting({
    name: "PASSKEY_SATISFIES_MFA",
    group: "auth",
    doc: "a user-verified passkey sign-in counts as two factors (false: accounts with TOTP are asked for a code after a passkey too)",
    fallback: "true",
    parse: boolean,
  }),
  passkeyTestPage: setting({
    name: "PASSKEY_TEST_PAGE",
    group: "auth",
    doc: "development and tests only: serve the passkey test page at /dev/passkeys",
    fallback: "false",
    parse: boolean,
  }),

  githubClientId: setting({
    name: "OAUTH_GITHUB_CLIENT_ID",
    group: "oauth",
    doc: "GitHub OAuth app",
    parse: text,
  }),
  githubClientSecret: setting({
    name: "OAUTH_GITHUB_CLIENT_SECRET",
    group: "oauth",
    doc: "GitHub OAuth app",
    parse: text,
  }),
  googleClientId: setting({
    name: "OAUTH_GOOGLE_CLIENT_ID",
    group: "oauth",
    doc: "Google OAuth client",
    parse: text,
  }),
  googleClientSecret: setting({
    name: "OAUTH_GOOGLE_CLIENT_SECRET",
    group: "oauth",
    doc: "Google OAuth client",
    parse: text,
  }),
  oidcIssuer: setting({
    name: "OAUTH_OIDC_ISSUER",
    group: "oauth",
    doc: "OpenID provider issuer URL",
    parse: httpUrl,
  }),
  oidcClientId: setting({
    name: "OAUTH_OIDC_CLIENT_ID",
    group: "oauth",
    doc: "OpenID provider client",
    parse: text,
  }),
  oidcClientSecret: setting({
    name: "OAUTH_OIDC_CLIENT_SECRET",
    group: "oauth",
    doc: "OpenID provider client",
    parse: text,
  }),
  oidcName: setting({
    name: "OAUTH_OIDC_NAME",
    group: "oauth",
    doc: "provider name in URLs",
    fallback: "oidc",
    parse: text,
  }),
  appleClientId: setting({
    name: "OAUTH_APPLE_CLIENT_ID",
    group: "oauth",
    doc: "Sign in with Apple: the Services ID",
    parse: text,
  }),
  appleTeamId: setting({
    name: "OAUTH_APPLE_TEAM_ID",
    group: "oauth",
    doc: "Sign in with Apple: the team id",
    parse: text,
  }),
  appleKeyId: setting({
    name: "OAUTH_APPLE_KEY_ID",
    group: "oauth",
    doc: "Sign in with Apple: the key id",
    parse: text,
  }),
  applePrivateKey: setting({
    name: "OAUTH_APPLE_PRIVATE_KEY",
    group: "oauth",
    doc: "Sign in with Apple: the .p8 key (PKCS#8 PEM; \\n for line breaks allowed)",
    parse: pkcs8Pem,
  }),
  microsoftClientId: setting({
    name: "OAUTH_MICROSOFT_CLIENT_ID",
    group: "oauth",
    doc: "Microsoft Entra ID app registration",
    parse: text,
  }),
  microsoftClientSecret: setting({
    name: "OAUTH_MICROSOFT_CLIENT_SECRET",
    group: "oauth",
    doc: "Microsoft Entra ID app registration",
    parse: text,
  }),
  microsoftTenant: setting({
    name: "OAUTH_MICROSOFT_TENANT",
    group: "oauth",
    doc: "Microsoft Entra ID tenant: an id or domain, or common, organizations, consumers",
    fallback: "common",
    parse: (raw) => {
      if (!/^[A-Za-z0-9.-]{1,100}$/.test(raw)) throw new Invalid("must be a tenant id or domain");
      return raw;
    },
  }),
  gitlabUrl: setting({
    name: "OAUTH_GITLAB_URL",
    group: "oauth",
    doc: "GitLab instance",
    fallback: "https://gitlab.com",
    parse: baseUrl,
  }),
  discordClientId: setting({
    name: "OAUTH_DISCORD_CLIENT_ID",
    group: "oauth",
    doc: "Discord OAuth app",
    parse: text,
  }),
  discordClientSecret: setting({
    name: "OAUTH_DISCORD_CLIENT_SECRET",
    group: "oauth",
    doc: "Discord OAuth app",
    parse: text,
  }),
  gitlabClientId: setting({
    name: "OAUTH_GITLAB_CLIENT_ID",
    group: "oauth",
    doc: "GitLab OAuth application",
    parse: text,
  }),
  gitlabClientSecret: setting({
    name: "OAUTH_GITLAB_CLIENT_SECRET",
    group: "oauth",
    doc: "GitLab OAuth application",
    parse: text,
  }),
  facebookClientId: setting({
    name: "OAUTH_FACEBOOK_CLIENT_ID",
    group: "oauth",
    doc: "Facebook Login app",
    parse: text,
  }),
  facebookClientSecret: setting({
    name: "OAUTH_FACEBOOK_CLIENT_SECRET",
    group: "oauth",
    doc: "Facebook Login app",
    parse: text,
  }),
  xClientId: setting({
    name: "OAUTH_X_CLIENT_ID",
    group: "oauth",
    doc: "X (Twitter) OAuth 2.0 client",
    parse: text,
  }),
  xClientSecret: setting({
    name: "OAUTH_X_CLIENT_SECRET",
    group: "oauth",
    doc: "X (Twitter) OAuth 2.0 client",
    parse: text,
  }),
  linkedinClientId: setting({
    name: "OAUTH_LINKEDIN_CLIENT_ID",
    group: "oauth",
    doc: "LinkedIn app (Sign In with LinkedIn using OpenID Connect)",
    parse: text,
  }),
  linkedinClientSecret: setting({
    name: "OAUTH_LINKEDIN_CLIENT_SECRET",
    group: "oauth",
    doc: "LinkedIn app (Sign In with LinkedIn using OpenID Connect)",
    parse: text,
  }),

  logLevel: setting({
    name: "LOG_LEVEL",
    group: "telemetry",
    doc: "log level",
    fallback: "info",
    parse: logLevel,
  }),
  logSampleRate: setting({
    name: "LOG_SAMPLE_RATE",
    group: "telemetry",
    doc: "share of successful requests logged",
    fallback: "1",
    parse: fraction,
  }),
  otlpEndpoint: setting({
    name: "OTEL_EXPORTER_OTLP_ENDPOINT",
    group: "telemetry",
    doc: "OTLP/HTTP collector",
    parse: httpUrl,
  }),
  otlpHeaders: setting({
    name: "OTEL_EXPORTER_OTLP_HEADERS",
    group: "telemetry",
    doc: "headers for the collector",
    fallback: "",
    parse: headers,
  }),
  serviceName: setting({
    name: "OTEL_SERVICE_NAME",
    group: "telemetry",
    doc: "service name in traces",
    fallback: "nearbase",
    parse: text,
  }),
  metricsToken: setting({
    name: "METRICS_TOKEN",
    group: "telemetry",
    doc: "bearer token for /metrics scrapes",
    parse: secret(16, "e.g. `openssl rand -hex 32`"),
  }),

  webhookSecretKey: setting({
    name: "WEBHOOK_SECRET_KEY",
    group: "events",
    doc: "encrypts webhook signing secrets at rest (required to create endpoints)",
    parse: secret(32, "e.g. `openssl rand -hex 32`"),
  }),
  webhookAllowLoopback: setting({
    name: "WEBHOOK_ALLOW_LOOPBACK",
    group: "events",
    doc: "development and tests only: webhooks may call 127.0.0.1/::1/localhost",
    fallback: "false",
    parse: boolean,
  }),
  webhookMaxAttempts: setting({
    name: "WEBHOOK_MAX_ATTEMPTS",
    group: "events",
    doc: "attempts per delivery before it is dead-lettered",
    fallback: "10",
    parse: integer(1, 100),
  }),
  webhookMaxAgeSeconds: setting({
    name: "WEBHOOK_MAX_AGE_SECONDS",
    group: "events",
    doc: "age after which a failing delivery is dead-lettered",
    fallback: "259200",
    parse: integer(1, 30 * 86_400),
  }),
  webhookRetryBaseMs: setting({
    name: "WEBHOOK_RETRY_BASE_MS",
    group: "events",
    doc: "backoff base: retry n waits a random time up to base·2^(n−1) (full jitter)",
    fallback: "5000",
    parse: integer(1, 3_600_000),
  }),
  webhookRetryCapMs: setting({
    name: "WEBHOOK_RETRY_CAP_MS",
    group: "events",
    doc: "longest wait between two attempts",
    fallback: "3600000",
    parse: integer(1, 86_400_000),
  }),
  webhookTimeoutMs: setting({
    name: "WEBHOOK_TIMEOUT_MS",
    group: "events",
    doc: "default request timeout of a new endpoint",
    fallback: "10000",
    parse: integer(100, 60_000),
  }),
  webhookConcurrency: setting({
    name: "WEBHOOK_CONCURRENCY",
    group: "events",
    doc: "default in-flight deliveries per endpoint",
    fallback: "4",
    parse: integer(1, 100),
  }),
  webhookDisableAfterFailures: setting({
    name: "WEBHOOK_DISABLE_AFTER_FAILURES",
    group: "events",
    doc: "consecutive failed attempts that switch an endpoint off",
    fallback: "100",
    parse: integer(1, 100_000),
  }),
  webhookRetentionDays: setting({
    name: "WEBHOOK_RETENTION_DAYS",
    group: "events",
    doc: "how long delivered events and the delivery log are kept",
    fallback: "30",
    parse: integer(1, 3650),
  }),
  auditRetentionDays: setting({
    name: "AUDIT_RETENTION_DAYS",
    group: "privacy",
    doc: "how long audit-log entries are kept",
    fallback: "365",
    parse: integer(1, 3650),
  }),
  eraseReauthMinutes: setting({
    name: "ERASE_REAUTH_MINUTES",
    group: "privacy",
    doc: "accounts without a password may erase themselves this long after signing in",
    fallback: "10",
    parse: integer(1, 1440),
  }),
  exportLimitPerAccount: setting({
    name: "EXPORT_LIMIT_PER_ACCOUNT",
    group: "privacy",
    doc: "data exports per account",
    fallback: "5/1h",
    parse: policy(false),
  }),
  dataKeysFile: setting({
    name: "DATA_KEYS_FILE",
    group: "privacy",
    doc: "where the Node home keeps generated data-encryption keys",
    fallback: "./data/data-keys.json",
    homes: ["node"],
    parse: text,
  }),
  dispatchPollMs: setting({
    name: "DISPATCH_POLL_MS",
    group: "events",
    doc: "Node home: how often the webhook dispatcher polls the outbox",
    fallback: "1000",
    homes: ["node"],
    parse: integer(10, 600_000),
  }),
  dispatchMaxInFlight: setting({
    name: "DISPATCH_MAX_IN_FLIGHT",
    group: "events",
    doc: "Node home: webhook attempts one dispatcher runs at once, over all endpoints",
    fallback: "64",
    homes: ["node"],
    parse: integer(1, 10_000),
  }),
  realtimePollMs: setting({
    name: "REALTIME_POLL_MS",
    group: "events",
    doc: "Node home: how often the realtime hub reads the outbox for other instances' writes (its own wake it at once)",
    fallback: "250",
    homes: ["node"],
    parse: integer(10, 60_000),
  }),
  realtimeHeartbeatSeconds: setting({
    name: "REALTIME_HEARTBEAT_SECONDS",
    group: "events",
    doc: "realtime: SSE heartbeat comment interval (WebSocket clients ping)",
    fallback: "25",
    parse: integer(1, 3600),
  }),
  realtimeIdleTimeoutSeconds: setting({
    name: "REALTIME_IDLE_TIMEOUT_SECONDS",
    group: "events",
    doc: "realtime: a stream that received nothing and changed no subscription this long is closed (clients reconnect and resume)",
    fallback: "300",
    parse: integer(1, 86_400),
  }),
  realtimeMaxLifetimeSeconds: setting({
    name: "REALTIME_MAX_LIFETIME_SECONDS",
    group: "events",
    doc: "realtime: every stream is closed after this long (clients reconnect and resume)",
    fallback: "3600",
    parse: integer(1, 7 * 86_400),
  }),
  realtimeReplayWindowSeconds: setting({
    name: "REALTIME_REPLAY_WINDOW_SECONDS",
    group: "events",
    doc: "realtime: how far back Last-Event-ID / since resumes; older means a refetch message",
    fallback: "3600",
    parse: integer(0, 7 * 86_400),
  }),
  realtimeMaxPerUser: setting({
    name: "REALTIME_MAX_CONNECTIONS_PER_USER",
    group: "events",
    doc: "realtime: open streams per user (API keys count for their owner)",
    fallback: "10",
    parse: integer(1, 100_000),
  }),
  realtimeMaxPerAddress: setting({
    name: "REALTIME_MAX_CONNECTIONS_PER_ADDRESS",
    group: "events",
    doc: "realtime: open anonymous streams per client address",
    fallback: "20",
    parse: integer(1, 100_000),
  }),
  realtimeAuthCheckSeconds: setting({
    name: "REALTIME_AUTH_CHECK_SECONDS",
    group: "events",
    doc: "realtime: how often a stream's session or API key is checked again (revoked, erased); revocations through the API end streams at once",
    fallback: "30",
    parse: integer(1, 3600),
  }),
  realtimeShards: setting({
    name: "REALTIME_SHARDS",
    group: "events",
    doc: "Workers home: Durable Objects realtime connections are spread over (by user or address)",
    fallback: "4",
    homes: ["workers"],
    parse: integer(1, 1024),
  }),
  // Read where they are used, through the platform's secret store (src/core/search/embedders.ts);
  // declared here so they are checked at start and documented.
  embeddingsUrl: setting({
    name: "EMBEDDINGS_URL",
    group: "search",
    doc: "the default embedder: an OpenAI-compatible API base (…/v1); unset, vector fields stay pending",
    parse: baseUrl,
  }),
  embeddingsApiKey: setting({
    name: "EMBEDDINGS_API_KEY",
    group: "search",
    doc: "bearer key for EMBEDDINGS_URL (secret)",
    parse: text,
  }),
  embeddingsWorkersAi: setting({
    name: "EMBEDDINGS_WORKERS_AI",
    group: "search",
    doc: 'Workers home: the default embedder is this Workers AI binding ([ai] binding = "AI" in wrangler.toml) with EMBEDDINGS_MODEL (default @cf/baai/bge-small-en-v1.5); not with EMBEDDINGS_URL',
    homes: ["workers"],
    parse: (raw) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(raw))
        throw new Invalid("must be a binding name (e.g. AI)");
      return raw;
    },
  }),
  embeddingsModel: setting({
    name: "EMBEDDINGS_MODEL",
    group: "search",
    doc: "model name sent to EMBEDDINGS_URL, or the Workers AI model (@cf/…) with EMBEDDINGS_WORKERS_AI",
    fallback: "text-embedding-3-small",
    parse: (raw) => {
      if (!/^[\x21-\x7e]{1,200}$/.test(raw))
        throw new Invalid("must be a model name without spaces");
      return raw;
    },
  }),
} as const;

type Settings = typeof settings;
type Parsed = {
  [K in keyof Settings]: Settings[K] extends Setting<infer T> & { fallback: infer F }
    ? F extends string
      ? T
      : T | undefined
    : never;
};

const howToSet: Record<Home, string> = {
  node: "set it in the environment (e.g. `NAME=value npm start`)",
  workers: "set it in wrangler.toml [vars], or as a secret with `npx wrangler secret put NAME`",
};

/**
 * Reads the settings from `process.env` (Node) or the Worker's bindings through the table above.
 * Defaults make the Node home run with no configuration at all; the Workers home needs a
 * database URL. Every problem is collected and reported at once, naming the variable.
 */
export function loadConfig(source: Record<string, unknown>, home: Home): Config {
  const problems: string[] = [];
  const fail = (name: string, why: string) =>
    problems.push(`${name} ${why}; ${howToSet[home].replace("NAME", name)}.`);
  const values: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings) as [string, Setting][]) {
    const given = source[s.name];
    if (given !== undefined && given !== "" && typeof given !== "string") {
      fail(s.name, "must be a string");
      continue;
    }
    const set = typeof given === "string" && given.trim() !== "" ? given.trim() : undefined;
    if (set !== undefined && s.homes !== undefined && !s.homes.includes(home)) {
      fail(s.name, `applies to the ${s.homes.join(" and ")} home only; remove it here`);
      continue;
    }
    const raw = set ?? (typeof s.fallback === "function" ? s.fallback(home) : s.fallback);
    if (raw === undefined) continue;
    try {
      values[key] = s.parse(raw, home);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      fail(s.name, `${err.message} (got ${JSON.stringify(raw)})`);
    }
  }
  const v = values as Parsed;

  // Settings that only make sense together.
  if (v.databaseUrl === undefined && !problems.some((p) => p.startsWith("DATABASE_URL")))
    fail("DATABASE_URL", "is required (libsql://…, https://… or http://127.0.0.1:8080 locally)");
  if (v.mailApiUrl !== undefined && v.mailApiKey === undefined)
    fail("MAIL_API_KEY", "is required with MAIL_API_URL");
  const modelSet =
    typeof source.EMBEDDINGS_MODEL === "string" && source.EMBEDDINGS_MODEL.trim() !== "";
  const ai = v.embeddingsWorkersAi;
  if (ai !== undefined && v.embeddingsUrl !== undefined)
    fail("EMBEDDINGS_WORKERS_AI", "and EMBEDDINGS_URL both name the default embedder; set one");
  else if (ai !== undefined) {
    const bound = source[ai];
    if (
      typeof bound !== "object" ||
      bound === null ||
      typeof (bound as { run?: unknown }).run !== "function"
    )
      fail(
        "EMBEDDINGS_WORKERS_AI",
        `names the binding ${ai}, which this Worker does not have; add [ai] binding = "${ai}" to wrangler.toml`,
      );
    if (modelSet && !/^@(cf|hf)\//.test(v.embeddingsModel))
      fail("EMBEDDINGS_MODEL", "must be a Workers AI model (@cf/…) with EMBEDDINGS_WORKERS_AI");
    if (v.embeddingsApiKey !== undefined)
      fail("EMBEDDINGS_API_KEY", "has no effect with EMBEDDINGS_WORKERS_AI; remove it");
  } else if (v.embeddingsUrl === undefined && (v.embeddingsApiKey !== undefined || modelSet))
    fail(
      v.embeddingsApiKey !== undefined ? "EMBEDDINGS_API_KEY" : "EMBEDDINGS_MODEL",
      "has no effect without EMBEDDINGS_URL (or EMBEDDINGS_WORKERS_AI on Workers); set EMBEDDINGS_URL too",
    );
  const profileSet =
    typeof source.PASSWORD_PROFILE === "string" && source.PASSWORD_PROFILE.trim() !== "";
  if (profileSet && v.passwordIterations !== undefined)
    fail("PASSWORD_ITERATIONS", "replaces PASSWORD_PROFILE; set one of them");
  const s3Parts = [v.filesS3Url, v.filesS3AccessKeyId, v.filesS3SecretAccessKey];
  if (s3Parts.some((p) => p !== undefined) && s3Parts.some((p) => p === undefined))
    fail(
      "FILES_S3_URL",
      "and FILES_S3_ACCESS_KEY_ID, FILES_S3_SECRET_ACCESS_KEY must be set together",
    );
  const oauth: Config["oauth"] = {};
  const pair = (prefix: string, id: string | undefined, secretValue: string | undefined) => {
    if ((id === undefined) !== (secretValue === undefined)) {
      fail(`${prefix}_CLIENT_SECRET`, `and ${prefix}_CLIENT_ID must be set together`);
      return undefined;
    }
    return id === undefined || secretValue === undefined
      ? undefined
      : { clientId: id, clientSecret: secretValue };
  };
  const github = pair("OAUTH_GITHUB", v.githubClientId, v.githubClientSecret);
  if (github) oauth.github = github;
  const google = pair("OAUTH_GOOGLE", v.googleClientId, v.googleClientSecret);
  if (google) oauth.google = google;
  const appleParts = [v.appleClientId, v.appleTeamId, v.appleKeyId, v.applePrivateKey];
  if (appleParts.every((p) => p !== undefined)) {
    oauth.apple = {
      clientId: v.appleClientId!,
      teamId: v.appleTeamId!,
      keyId: v.appleKeyId!,
      privateKey: v.applePrivateKey!,
    };
  } else if (appleParts.some((p) => p !== undefined)) {
    fail(
      "OAUTH_APPLE_PRIVATE_KEY",
      "and OAUTH_APPLE_CLIENT_ID, _TEAM_ID, _KEY_ID must be set together",
    );
  }
  const microsoft = pair("OAUTH_MICROSOFT", v.microsoftClientId, v.microsoftClientSecret);
  if (microsoft) oauth.microsoft = { ...microsoft, tenant: v.microsoftTenant };
  const gitlab = pair("OAUTH_GITLAB", v.gitlabClientId, v.gitlabClientSecret);
  if (gitlab) oauth.gitlab = { ...gitlab, baseUrl: v.gitlabUrl };
  const discord = pair("OAUTH_DISCORD", v.discordClientId, v.discordClientSecret);
  if (discord) oauth.discord = discord;
  const facebook = pair("OAUTH_FACEBOOK", v.facebookClientId, v.facebookClientSecret);
  if (facebook) oauth.facebook = facebook;
  const x = pair("OAUTH_X", v.xClientId, v.xClientSecret);
  if (x) oauth.x = x;
  const linkedin = pair("OAUTH_LINKEDIN", v.linkedinClientId, v.linkedinClientSecret);
  if (linkedin) oauth.linkedin = linkedin;
  const oidc = pair("OAUTH_OIDC", v.oidcClientId, v.oidcClientSecret);
  if (oidc) {
    if (v.oidcIssuer === undefined) fail("OAUTH_OIDC_ISSUER", "must be the provider's issuer URL");
    else if ((builtInProviders as readonly string[]).includes(v.oidcName))
      fail(
        "OAUTH_OIDC_NAME",
        `must not be a built-in provider's name (${builtInProviders.join(", ")})`,
      );
    else oauth.oidc = { ...oidc, issuer: v.oidcIssuer, name: v.oidcName };
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    port: v.port,
    host: v.host,
    databaseUrl: v.databaseUrl ?? "",
    databaseAuthToken: v.databaseAuthToken,
    databasePrimaryUrl: v.databasePrimaryUrl,
    queryBudgetMs: v.queryBudgetMs,
    shutdownGraceMs: v.shutdownGraceMs,
    databaseTimeoutMs: v.databaseTimeoutMs,
    databaseSyncIntervalSeconds: v.databaseSyncIntervalSeconds,
    databaseSynchronous: v.databaseSynchronous,
    sharedCache: v.sharedCache,
    graphqlIntrospection:
      v.graphqlIntrospection === "auto"
        ? /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(v.publicUrl)
        : v.graphqlIntrospection,
    cacheMaxBytes: v.cacheMaxBytes,
    cacheVersionMemoMs: v.cacheVersionMemoMs,
    consistencyWindowMs: v.consistencyWindowMs,
    rateLimits: { read: v.rateLimitRead, write: v.rateLimitWrite, auth: v.rateLimitAuth },
    trustProxy: v.trustProxy,
    trustProxyHops: v.trustProxyHops,
    jwtIssuer: v.jwtIssuer,
    jwtAudience: v.jwtAudience,
    accessTokenTtlSeconds: v.accessTokenTtlSeconds,
    refreshTokenTtlDays: v.refreshTokenTtlDays,
    publicUrl: v.publicUrl,
    mail: { apiUrl: v.mailApiUrl, apiKey: v.mailApiKey, from: v.mailFrom },
    loginLimitPerAccount: v.loginLimitPerAccount,
    loginLimitPerAccountTotal: v.loginLimitPerAccountTotal,
    credentialFailureLimit: v.credentialFailureLimit,
    forgotLimitPerAccount: v.forgotLimitPerAccount,
    stepUpMaxAgeSeconds: v.stepUpMaxAgeSeconds,
    passwordHash:
      v.passwordIterations === undefined
        ? passwordProfiles[v.passwordProfile]
        : { kind: "pbkdf2-sha256", iterations: v.passwordIterations },
    signingKeysFile: v.signingKeysFile,
    filesDir: v.filesDir,
    ...(v.filesS3Url !== undefined &&
    v.filesS3AccessKeyId !== undefined &&
    v.filesS3SecretAccessKey !== undefined
      ? {
          filesS3: {
            url: v.filesS3Url,
            region: v.filesS3Region,
            accessKeyId: v.filesS3AccessKeyId,
            secretAccessKey: v.filesS3SecretAccessKey,
          },
        }
      : {}),
    passkeys: {
      rpId: v.passkeyRpId,
      rpName: v.passkeyRpName,
      origins: v.passkeyOrigins,
      testPage: v.passkeyTestPage,
      satisfiesMfa: v.passkeySatisfiesMfa,
    },
    nodeWorkers: v.nodeWorkers,
    maxInFlight: v.maxInFlight,
    oauth,
    corsOrigins: v.corsOrigins,
    bodyLimitBytes: v.bodyLimitBytes,
    logLevel: v.logLevel,
    logSampleRate: v.logSampleRate,
    otlpEndpoint: v.otlpEndpoint,
    otlpHeaders: v.otlpHeaders,
    serviceName: v.serviceName,
    metricsToken: v.metricsToken,
    webhooks: {
      secretKey: v.webhookSecretKey,
      allowLoopback: v.webhookAllowLoopback,
      maxAttempts: v.webhookMaxAttempts,
      maxAgeMs: v.webhookMaxAgeSeconds * 1000,
      retryBaseMs: v.webhookRetryBaseMs,
      retryCapMs: v.webhookRetryCapMs,
      timeoutMs: v.webhookTimeoutMs,
      concurrency: v.webhookConcurrency,
      disableAfterFailures: v.webhookDisableAfterFailures,
      retentionMs: v.webhookRetentionDays * 86_400_000,
      pollMs: v.dispatchPollMs,
      maxInFlight: v.dispatchMaxInFlight,
    },
    privacy: {
      auditRetentionMs: v.auditRetentionDays * 86_400_000,
      reauthWindowMs: v.eraseReauthMinutes * 60_000,
      exportLimit: v.exportLimitPerAccount,
      dataKeysFile: v.dataKeysFile,
    },
    realtime: {
      pollMs: v.realtimePollMs,
      heartbeatMs: v.realtimeHeartbeatSeconds * 1000,
      idleTimeoutMs: v.realtimeIdleTimeoutSeconds * 1000,
      maxLifetimeMs: v.realtimeMaxLifetimeSeconds * 1000,
      replayWindowMs: v.realtimeReplayWindowSeconds * 1000,
      maxPerUser: v.realtimeMaxPerUser,
      maxPerAddress: v.realtimeMaxPerAddress,
      authCheckMs: v.realtimeAuthCheckSeconds * 1000,
      shards: v.realtimeShards,
    },
  };
}

/** An http(s) base URL that is safe to build links and discovery documents from. */
function isPlainBaseUrl(value: string): boolean {
  if (!/^https?:\/\/\S+$/.test(value)) return false;
  try {
    const url = new URL(value);
    return url.search === "" && url.hash === "" && url.username === "" && url.password === "";
  } catch {
    return false;
  }
}
