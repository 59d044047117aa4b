type Json = Record<string, unknown>;

/**
 * Examples for an OpenAPI document, built from its own schemas when the document is built: a
 * value for each property, chosen by its name in the shapes the app writes (ids `usr_…` as
 * `randomId` makes them, ISO timestamps, `nb_live_…` keys), else by its format and type. An
 * example written by hand wins; `test/node/openapi.test.ts` validates every one with ajv.
 */
const at = "2026-12-07T09:30:00.000Z";
const rid = (prefix: string) => `${prefix}_7k2q9m4xp1vt8zc`;
/** One random-looking base64url string, for every opaque token. */
const t = "Yq3vR9tLw2xK8pN5sD1fH7jM4cB6gZ0aE-uT_oI2kQ";
const named: Json = {
  email: "ada@example.com",
  name: "Ada Lovelace",
  displayName: "Ada's MacBook",
  password: "correct horse battery",
  // {"alg":"EdDSA"}.{"sub":"usr_7k2q9m4xp1vt8zc"}.signature
  accessToken: `eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3JfN2sycTltNHhwMXZ0OHpjIn0.${t}`,
  refreshToken: t,
  token: t,
  mfaTicket: t,
  key: `nb_live_${t}`,
  prefix: "nb_live_Yq3vR9",
  secret: `whsec_${t}`,
  url: "https://hooks.example.com/nearbase",
  startUrl: "https://accounts.google.com/o/oauth2/v2/auth?client_id=…",
  provider: "google",
  kid: "k20261207-3f2c0d9e",
  requestId: "3f2c0d9e-8b1a-4c55-9b0e-2d7f6a1c4e11",
  title: "Quarterly report",
  body: "Revenue grew 12% over the quarter.",
  userAgent: "Mozilla/5.0 (Macintosh)",
  eventType: "posts.created",
  patterns: ["posts.*", "user.created"],
  tags: ["finance", "q3"],
  description: "Order events for the billing service",
  nextCursor: t,
  expiresIn: 900,
  expiresInDays: 90,
  timeoutMs: 10000,
  maxConcurrency: 4,
  recoveryCodesLeft: 10,
  total: 1,
  failureStreak: 0,
  revokedAt: null,
  rawId: t,
  action: "api_key.created",
  issuer: "https://api.example.com",
  jwks_uri: "https://api.example.com/.well-known/jwks.json",
  kty: "OKP",
  bio: "Mathematician",
  collection: "posts",
  field: "title",
  path: "/title",
  message: "Invalid input: expected string, received undefined",
  note: "Kept 30 days",
  legalBasis: "contract (Art. 6(1)(b) GDPR)",
  purpose: "Sign-in and account recovery",
  providerUserId: "104528918392019283745",
  mfa: ["totp"],
  oauthProviders: ["google", "github"],
  recoveryCodes: ["k7q2-9m4x-p1vt", "z3c8-w5n0-r6hd"],
  topics: ["posts", "comments/cmt_7k2q9m4xp1vt8zc"],
  transports: ["internal", "hybrid"],
  uri: "otpauth://totp/Nearbase:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Nearbase",
  durationMs: 42,
  distance: 0.18,
  score: 0.82,
  statusCode: 200,
  lastStatusCode: 200,
  revoked: 2,
  expired: 0,
  replayed: 0,
  days: 30,
  allowPrivate: false,
  eventId: "evt_0mhx2k9a1000004f7kq2p9",
  migration: "0007_webhook_claims",
  query: "{ posts(limit: 2) { items { id title } } }",
  q: "quarterly report",
  role: "user",
  scopes: ["read"],
  reason: "Requested by the account holder",
};
/** Properties holding another resource's id, by the prefix its ids carry. */
const idOf: Record<string, string> = {
  userId: "usr",
  owner: "usr",
  author: "usr",
  actor: "usr",
  user: "usr",
  subject: "usr",
  sessionId: "ses",
  endpointId: "whe",
  otpId: "otp",
  clientId: "rtc",
  post: "pst",
};
/** Objects under these names hold another resource (its `id` has that resource's prefix). */
const nestedIds: Record<string, string> = {
  ...idOf,
  account: "usr",
  sessions: "ses",
  passkeys: "psk",
  apiKeys: "key",
};
/** Values that differ by the path (a passkey's or key's name, a TOTP secret, a message). */
const pathNamed: [RegExp, Json][] = [
  [/keys/, { name: "CI deploy" }],
  [/passkeys/, { name: "MacBook Touch ID" }],
  [/mfa/, { secret: "JBSWY3DPEHPK3PXP" }],
  [/password/, { status: "If an account exists for this address, we sent it a reset link." }],
  [/otp/, { status: "If an account exists for this address, we sent it a sign-in code." }],
  [/verify\/request/, { status: "sent" }],
  [/webhooks/, { overlapSeconds: 3600, until: "2026-12-07T12:00:00.000Z" }],
];
/** Values that differ by the object they are in. */
const nestedNamed: Record<string, Json> = {
  providers: { name: "google", displayName: "Google" },
  apiKeys: { name: "CI deploy" },
};

/** The id an `id` property carries, by the path its operation serves. */
const pathIds: [RegExp, string][] = [
  [/deliveries/, "dlv"],
  [/webhooks/, "whe"],
  [/passkeys/, "psk"],
  [/keys/, "key"],
  [/sessions/, "ses"],
  [/audit/, "aud"],
  [/otp/, "otp"],
  [/./, "usr"],
];

interface Context {
  doc: Json;
  /** The id prefix for `id` here (a collection's, or the path's). */
  prefix: string;
  /** Collection name → id prefix. */
  prefixes: Record<string, string>;
  /** Values by property name, here. */
  named: Json;
  depth: number;
}

function fits(schema: Json, value: unknown): boolean {
  if (typeof value !== "string") return true;
  if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value))
    return false;
  return (
    value.length >= ((schema.minLength as number) ?? 0) &&
    value.length <= ((schema.maxLength as number) ?? Infinity)
  );
}

function exampleOf(schema: unknown, ctx: Context, key = ""): unknown {
  let s = schema as Json;
  if (typeof s !== "object" || s === null || ctx.depth > 8) return undefined;
  if (typeof s.$ref === "string") {
    const name = s.$ref.split("/").pop()!;
    const collection = /^(.+)(Record|Partial|Create|Update)$/.exec(name)?.[1];
    const prefix = (collection && ctx.prefixes[collection]) ?? ctx.prefix;
    s = (ctx.doc.components as { schemas: Record<string, Json> }).schemas[name] ?? {};
    return exampleOf(s, { ...ctx, prefix, depth: ctx.depth + 1 }, key);
  }
  if ("example" in s) return s.example;
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  const options = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (options) return exampleOf(options[0], ctx, key);
  const types = ([] as unknown[]).concat(s.type ?? (s.properties ? "object" : []));
  const type = types.find((t) => t !== "null") ?? (types.length > 0 ? "null" : undefined);
  if (type === "object") {
    const out: Json = {};
    const required = (s.required as string[] | undefined) ?? [];
    for (const [name, prop] of Object.entries((s.properties as Json | undefined) ?? {})) {
      // Optional expansions and nested records would only repeat a record: left out.
      if (name === "expand" && !required.includes(name)) continue;
      const value = exampleOf(
        prop,
        {
          ...ctx,
          prefix: nestedIds[name] ?? ctx.prefix,
          named: { ...ctx.named, ...nestedNamed[name] },
          depth: ctx.depth + 1,
        },
        name,
      );
      if (value !== undefined) out[name] = value;
    }
    return out;
  }
  if (type === "array") {
    const item = exampleOf(s.items, { ...ctx, depth: ctx.depth + 1 }, key);
    return Array.isArray(ctx.named[key]) ? ctx.named[key] : item === undefined ? [] : [item];
  }
  if (type === "string") {
    if (ctx.named[key] === null && types.includes("null")) return null;
    const candidates = [
      ctx.named[key],
      // A WebAuthn credential's id (base64url), not a Nearbase one.
      key === "id" && s.pattern === "^[\\w-]*$" ? named.rawId : undefined,
      // One-time codes: a TOTP (6 digits), an emailed code (8), an OAuth exchange code.
      ...(key === "code" ? ["482139", "48213907", "q8Vd2LmX7tR4nK9sW1pZ6yB3"] : []),
      key === "id" ? rid(ctx.prefix) : idOf[key] ? rid(idOf[key]) : undefined,
      /^expires|^next/.test(key) ? "2027-01-06T09:30:00.000Z" : undefined,
      s.format === "date-time" ||
      /^(created|updated|at)$|At$|^(since|until|started|lastUsed|generatedAt|cutoff)$/.test(key)
        ? at
        : undefined,
      s.format === "email" ? named.email : s.format === "uri" ? named.url : undefined,
      /^[\^]?\[a-z\]\{2,8\}_/.test(String(s.pattern)) ? rid(ctx.prefix) : undefined,
      "dGhlLWV4YW1wbGU",
      key ? `${key} text` : "text",
    ];
    // A nullable string with nothing particular to say (an error not met, a reason not given).
    if (types.includes("null") && candidates.slice(0, -2).every((c) => c === undefined))
      return null;
    return candidates.find((c) => typeof c === "string" && fits(s, c)) ?? "";
  }
  if (type === "integer" || type === "number") {
    const n = ctx.named[key];
    if (
      typeof n === "number" &&
      n >= ((s.minimum as number) ?? -Infinity) &&
      n <= ((s.maximum as number) ?? Infinity)
    )
      return n;
    return typeof s.minimum === "number" && s.minimum > 1 ? s.minimum : 1;
  }
  if (type === "boolean") return typeof ctx.named[key] === "boolean" ? ctx.named[key] : true;
  if (type === "null") return null;
  return undefined;
}

/**
 * Fills in an example for every JSON request body and 2xx JSON answer that has none, and one
 * for every problem answer (from its first code, in the shape `toProblem` sends).
 */
export function addExamples(
  doc: Json,
  prefixes: Record<string, string>,
  problem: (code: string) => unknown,
): void {
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    const prefix = pathIds.find(([re]) => re.test(path))![1];
    for (const op of Object.values(item) as Json[]) {
      if (typeof op !== "object" || op === null || op.responses === undefined) continue;
      const own = pathNamed.filter(([re]) => re.test(path)).map(([, values]) => values);
      const ctx: Context = {
        doc,
        prefix,
        prefixes,
        named: Object.assign({}, named, ...own),
        depth: 0,
      };
      const media: Json[] = [];
      const body = (op.requestBody as Json | undefined)?.content as Json | undefined;
      if (body?.["application/json"]) media.push(body["application/json"] as Json);
      for (const [status, answer] of Object.entries(op.responses as Record<string, Json>)) {
        const content = answer.content as Record<string, Json> | undefined;
        if (status.startsWith("2") && content?.["application/json"])
          media.push(content["application/json"]);
        const problemMedia = content?.["application/problem+json"];
        const codes = (
          (problemMedia?.schema as Json | undefined)?.allOf as Json[] | undefined
        )?.[1] as { properties?: { code?: { enum?: string[]; const?: string } } } | undefined;
        const code = codes?.properties?.code?.enum?.[0] ?? codes?.properties?.code?.const;
        if (problemMedia && code && problemMedia.example === undefined)
          problemMedia.example = problem(code);
      }
      for (const m of media) {
        if (m.example !== undefined || m.examples !== undefined || m.schema === undefined) continue;
        const value = exampleOf(m.schema, ctx);
        if (value !== undefined) m.example = value;
      }
    }
  }
}
