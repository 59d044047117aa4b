// The floor: bare hono + @libsql/client + jose doing the same SQL and token checks as the
// benchmark scenarios, with no Nearbase code. Nearbase's ratio to this is its overhead.
// Env: PORT, DATABASE_URL, JWKS (public key set JSON), JWT_PRIVATE_KEYS (to sign on login).
import { serve } from "@hono/node-server";
import { createClient } from "@libsql/client";
import { Hono } from "hono";
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from "jose";

const db = createClient({ url: process.env.DATABASE_URL!, concurrency: 1, timeout: 5000 });
// The same durability settings as Nearbase's embedded file (and PocketBase's): WAL with
// synchronous=NORMAL. Without them the floor's creates ran on a rollback journal with
// synchronous=FULL, several times slower, which flattered Nearbase's create ratio.
await db.execute("PRAGMA journal_mode = WAL");
await db.execute("PRAGMA synchronous = NORMAL");
const jwks = createLocalJWKSet(JSON.parse(process.env.JWKS!));
const [privateJwk] = JSON.parse(process.env.JWT_PRIVATE_KEYS!);
const signingKey = await importJWK(privateJwk, "EdDSA");
const postCols = "id, created, updated, title, body, status, tags, author";

async function principal(header: string | undefined) {
  const token = header?.replace(/^Bearer /, "");
  if (!token) return undefined;
  const { payload } = await jwtVerify(token, jwks, {
    algorithms: ["EdDSA"],
    issuer: "nearbase",
    audience: "nearbase",
  });
  return payload.sub;
}
const post = (r: Record<string, unknown>) => ({ ...r, tags: JSON.parse(String(r.tags)) });
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

const app = new Hono();
app.get("/api/collections/posts/records", async (c) => {
  const page = {
    sql: `SELECT ${postCols} FROM posts WHERE (status = 'published' OR author = ?) ORDER BY created DESC, id DESC LIMIT ?`,
    args: ["", Number(c.req.query("limit") ?? 30) + 1],
  };
  const [rs, count] =
    c.req.query("total") === "true"
      ? await db.batch(
          [
            page,
            {
              sql: "SELECT count(*) AS n FROM posts WHERE (status = 'published' OR author = ?)",
              args: [""],
            },
          ],
          "read",
        )
      : [await db.execute(page)];
  return c.json({
    items: rs!.rows.slice(0, Number(c.req.query("limit") ?? 30)).map(post),
    nextCursor: null,
    ...(count ? { total: Number(count.rows[0]?.n) } : {}),
  });
});
app.get("/api/collections/posts/records/:id", async (c) => {
  const rs = await db.execute({
    sql: `SELECT ${postCols} FROM posts WHERE (status = 'published' OR author = ?) AND id = ?`,
    args: ["", c.req.param("id")],
  });
  return rs.rows[0] ? c.json(post(rs.rows[0])) : c.json({ code: "NOT_FOUND" }, 404);
});
app.get("/api/collections/bookmarks/records", async (c) => {
  const sub = await principal(c.req.header("authorization"));
  if (!sub) return c.json({ code: "UNAUTHENTICATED" }, 401);
  const rs = await db.execute({
    sql: "SELECT id, created, updated, user, post, note FROM bookmarks WHERE user = ? ORDER BY created DESC, id DESC LIMIT ?",
    args: [sub, Number(c.req.query("limit") ?? 30) + 1],
  });
  return c.json({ items: rs.rows.slice(0, Number(c.req.query("limit") ?? 30)), nextCursor: null });
});
app.post("/api/collections/posts/records", async (c) => {
  const sub = await principal(c.req.header("authorization"));
  if (!sub) return c.json({ code: "UNAUTHENTICATED" }, 401);
  const body = (await c.req.json()) as { title?: unknown };
  if (typeof body.title !== "string") return c.json({ code: "VALIDATION_FAILED" }, 400);
  const now = new Date().toISOString();
  const id = `pst_${crypto.randomUUID().replaceAll("-", "").slice(0, 15)}`;
  const rs = await db.execute({
    sql: `INSERT INTO posts (id, created, updated, rev, title, body, status, tags, author) VALUES (?, ?, ?, 1, ?, '', 'draft', '[]', ?) RETURNING ${postCols}`,
    args: [id, now, now, body.title, sub],
  });
  return c.json(post(rs.rows[0]!), 201);
});
app.post("/api/auth/login", async (c) => {
  const body = (await c.req.json()) as { email: string; password: string };
  const rs = await db.execute({
    sql: "SELECT id, role, password_hash FROM nb_users WHERE email = ?",
    args: [body.email.toLowerCase()],
  });
  const user = rs.rows[0];
  if (!user) return c.json({ code: "UNAUTHENTICATED" }, 401);
  const [, iterations, salt, hash] = String(user.password_hash).split("$");
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(body.password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = new Uint8Array(
    await crypto.subtle.deriveBits(
      {
        name: "PBKDF2",
        hash: "SHA-256",
        salt: Buffer.from(salt!, "base64url"),
        iterations: Number(iterations),
      },
      key,
      256,
    ),
  );
  if (b64(bits) !== hash) return c.json({ code: "UNAUTHENTICATED" }, 401);
  const refresh = b64(crypto.getRandomValues(new Uint8Array(32)));
  const sessionId = `ses_${crypto.randomUUID().slice(0, 15)}`;
  const now = new Date();
  const digest = b64(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(refresh))),
  );
  await db.batch(
    [
      {
        sql: "INSERT INTO nb_sessions (id, user_id, created, last_used, expires_at, user_agent) VALUES (?, ?, ?, ?, ?, '')",
        args: [sessionId, user.id, now.toISOString(), now.toISOString(), now.getTime() + 2.592e9],
      },
      {
        sql: "INSERT INTO nb_refresh_tokens (hash, session_id, expires_at) VALUES (?, ?, ?)",
        args: [digest, sessionId, now.getTime() + 2.592e9],
      },
    ],
    "write",
  );
  const accessToken = await new SignJWT({ role: user.role, sid: sessionId })
    .setProtectedHeader({ alg: "EdDSA", kid: privateJwk.kid, typ: "at+jwt" })
    .setIssuer("nearbase")
    .setAudience("nearbase")
    .setSubject(String(user.id))
    .setIssuedAt()
    .setExpirationTime("15m")
    .sign(signingKey);
  return c.json({ accessToken, refreshToken: refresh });
});
app.get("/ready", async (c) => {
  await db.execute("SELECT 1");
  return c.json({ status: "ready" });
});

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" });
