// Directus 11 on SQLite, set up like Nearbase's bench dataset: collections, fields, a role with
// a policy carrying the same rules (published posts or your own; bookmarks only your own;
// creates by signed-in users for themselves), public read of published posts, all through its
// own CLI and REST API. The 10k posts and the bookmarks are then copied with SQL (the same rows
// as Nearbase's seeded file; uuids for ids since Directus generates uuid keys), indexes added,
// ANALYZE, and Directus restarted — the start that is measured.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createClient, type InStatement, type InValue } from "@libsql/client";
import { startProcess, type Target } from "../lib/target";
import { directusCli, ensurePeer } from "./install";
import type { PeerSetup } from "./pocketbase";

const adminEmail = "admin@example.com";
const adminPassword = "bench admin password 123";

/** A deterministic uuid for the nth seeded row of a kind (so runs are comparable). */
const uuidOf = (kind: number, n: number) =>
  `00000000-0000-4000-8${kind.toString(16).padStart(3, "0")}-${n.toString(16).padStart(12, "0")}`;

export async function setupDirectus(
  dir: string,
  port: number,
  setup: PeerSetup,
): Promise<{ start(): Promise<Target>; userId: string; samplePostId: string; notes: string[] }> {
  const cli = directusCli();
  const cwd = ensurePeer("directus");
  const node = nodeFor(cwd);
  const dbFile = join(dir, "directus.db");
  const env = {
    DB_CLIENT: "sqlite3",
    DB_FILENAME: dbFile,
    KEY: randomBytes(16).toString("hex"),
    SECRET: randomBytes(32).toString("hex"),
    ADMIN_EMAIL: adminEmail,
    ADMIN_PASSWORD: adminPassword,
    HOST: "127.0.0.1",
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    // Fair settings: no rate limiter, no request log, no cache, nothing phoning home.
    RATE_LIMITER_ENABLED: "false",
    RATE_LIMITER_GLOBAL_ENABLED: "false",
    CACHE_ENABLED: "false",
    LOG_LEVEL: "warn",
    LOG_HTTP_IGNORE_PATHS: "/",
    TELEMETRY: "false",
    WEBSOCKETS_ENABLED: "false",
    ACCESS_TOKEN_TTL: "15m",
    EXTENSIONS_PATH: join(dir, "extensions"),
    STORAGE_LOCAL_ROOT: join(dir, "uploads"),
    MAX_PAYLOAD_SIZE: "1mb",
    // No lock-out of the bench user: the log-in scenario's timed-out attempts counted as
    // failures and suspended it ("Invalid user credentials" from then on), like a rate limit.
    AUTH_LOGIN_ATTEMPTS: "1000000000",
  };
  execFileSync(node, [cli, "bootstrap"], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const start = () =>
    startProcess("directus", node, [cli, "start"], {
      env,
      cwd,
      url: `http://127.0.0.1:${port}`,
      readyPath: "/server/health",
      pollMs: 10,
      timeoutMs: 120_000,
    });

  const url = `http://127.0.0.1:${port}`;
  let userId = "";
  const first = await start();
  try {
    const api = async (method: string, path: string, body?: unknown, token?: string) => {
      const res = await fetch(url + path, {
        method,
        headers: {
          "content-type": "application/json",
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok)
        throw new Error(`directus ${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
      return text === "" ? {} : JSON.parse(text).data;
    };
    const login = await api("POST", "/auth/login", { email: adminEmail, password: adminPassword });
    const token = login.access_token as string;
    const id = {
      field: "id",
      type: "uuid",
      meta: { special: ["uuid"], hidden: true, readonly: true },
      schema: { is_primary_key: true, length: 36, has_auto_increment: false },
    };
    const str = (field: string, max = 255) => ({
      field,
      type: "string",
      schema: { max_length: max },
    });
    const created = (field: string, special: string) => ({
      field,
      type: "timestamp",
      meta: { special: [special] },
      schema: {},
    });
    await api(
      "POST",
      "/collections",
      {
        collection: "posts",
        meta: {},
        schema: {},
        fields: [
          id,
          created("created", "date-created"),
          created("updated", "date-updated"),
          { ...str("title", 200), schema: { max_length: 200, is_nullable: false } },
          { field: "body", type: "text", schema: {} },
          { ...str("status", 20), schema: { max_length: 20, default_value: "draft" } },
          { field: "tags", type: "json", meta: { special: ["cast-json"] }, schema: {} },
          { field: "author", type: "uuid", schema: {} },
        ],
      },
      token,
    );
    await api(
      "POST",
      "/collections",
      {
        collection: "bookmarks",
        meta: {},
        schema: {},
        fields: [
          id,
          created("created", "date-created"),
          created("updated", "date-updated"),
          { field: "user", type: "uuid", schema: {} },
          { field: "post", type: "uuid", schema: {} },
          str("note", 500),
        ],
      },
      token,
    );
    // Rules as a policy on a role (Directus 11 keeps permissions on policies).
    const role = await api("POST", "/roles", { name: "bench users" }, token);
    const policy = await api(
      "POST",
      "/policies",
      { name: "bench users", admin_access: false, app_access: false, roles: [{ role: role.id }] },
      token,
    );
    const mine = { _eq: "$CURRENT_USER" };
    const permissions = [
      {
        policy: policy.id,
        collection: "posts",
        action: "read",
        fields: ["*"],
        permissions: { _or: [{ status: { _eq: "published" } }, { author: mine }] },
      },
      {
        policy: policy.id,
        collection: "posts",
        action: "create",
        fields: ["*"],
        permissions: {},
        validation: { author: mine },
      },
      {
        policy: policy.id,
        collection: "bookmarks",
        action: "read",
        fields: ["*"],
        permissions: { user: mine },
      },
    ];
    const [publicPolicy] = await api(
      "GET",
      `/policies?filter=${encodeURIComponent(JSON.stringify({ name: { _eq: "$t:public_label" } }))}`,
      undefined,
      token,
    );
    if (publicPolicy === undefined) throw new Error("directus: no public policy found");
    permissions.push({
      policy: publicPolicy.id,
      collection: "posts",
      action: "read",
      fields: ["*"],
      permissions: { _or: [{ status: { _eq: "published" } }] },
    });
    await api("POST", "/permissions", permissions, token);
    const user = await api(
      "POST",
      "/users",
      { email: setup.email, password: setup.password, role: role.id, status: "active" },
      token,
    );
    userId = user.id as string;
  } finally {
    await first.stop();
  }

  // Rows: the same posts and bookmarks as Nearbase's file, users as copies of the bench user.
  const db = createClient({ url: `file:${dbFile}` });
  const source = createClient({ url: `file:${setup.source}` });
  const userOf = new Map<string, string>([[setup.userId, userId]]);
  const postOf = new Map<string, string>();
  let samplePostId = "";
  try {
    const columns = (await db.execute("PRAGMA table_info(directus_users)")).rows.map((r) =>
      String(r.name),
    );
    const statements: InStatement[] = [];
    for (let i = 0; i < setup.users; i++) {
      const nearbaseId = `usr_seed${String(i).padStart(6, "0")}`;
      if (nearbaseId === setup.userId) continue;
      const id = uuidOf(1, i);
      userOf.set(nearbaseId, id);
      const values = columns.map((c) =>
        c === "id" ? "?1" : c === "email" ? "?2" : c === "token" ? "NULL" : `"${c}"`,
      );
      statements.push({
        sql: `INSERT INTO directus_users (${columns.map((c) => `"${c}"`).join(", ")}) SELECT ${values.join(", ")} FROM directus_users WHERE id = ?3`,
        args: [id, `user${i}@example.com`, userId],
      });
    }
    // Directus stores timestamps on SQLite as epoch milliseconds.
    const ms = (iso: unknown) => Date.parse(String(iso));
    const posts = await source.execute(
      "SELECT id, created, updated, title, body, status, tags, author FROM posts",
    );
    posts.rows.forEach((p, n) => {
      const id = uuidOf(2, n);
      postOf.set(String(p.id), id);
      statements.push({
        sql: "INSERT INTO posts (id, created, updated, title, body, status, tags, author) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        args: [
          id,
          ms(p.created),
          ms(p.updated),
          p.title,
          p.body,
          p.status,
          p.tags,
          userOf.get(String(p.author)) ?? null,
        ] as InValue[],
      });
    });
    samplePostId = postOf.get("pst_seed000010") ?? "";
    const bookmarks = await source.execute(
      "SELECT id, created, updated, user, post, note FROM bookmarks",
    );
    bookmarks.rows.forEach((b, n) => {
      statements.push({
        sql: "INSERT INTO bookmarks (id, created, updated, user, post, note) VALUES (?, ?, ?, ?, ?, ?)",
        args: [
          uuidOf(3, n),
          ms(b.created),
          ms(b.updated),
          userOf.get(String(b.user)) ?? null,
          postOf.get(String(b.post)) ?? null,
          b.note,
        ] as InValue[],
      });
    });
    statements.push(
      "CREATE INDEX posts_status_created ON posts (status, created)",
      "CREATE INDEX posts_author ON posts (author)",
      "CREATE INDEX posts_created ON posts (created, id)",
      "CREATE INDEX bookmarks_user ON bookmarks (user, created)",
    );
    await db.batch(statements, "write");
    await db.executeMultiple("PRAGMA analysis_limit = 1000; ANALYZE;");
  } finally {
    db.close();
    source.close();
  }
  return {
    start,
    userId,
    samplePostId,
    notes: [
      `Directus runs on Node ${execFileSync(node, ["--version"], { encoding: "utf8" }).trim()} (${node}).`,
      "Directus: timestamps stored as its SQLite driver writes them (epoch ms); ids are uuids (its generated key type), mapped one to one from Nearbase's rows.",
    ],
  };
}

/**
 * The Node that loads Directus's native modules: the project's Node 22, or else the machine's
 * own `node`. isolated-vm is built against V8's ABI with the headers node-gyp finds, and
 * without a network to fetch Node 22's it builds against the machine's (Debian's Node 20 here:
 * "compiled against NODE_MODULE_VERSION 115"). The report names the version used.
 */
function nodeFor(cwd: string): string {
  const candidates = [resolve("node_modules/.bin/node"), "/usr/bin/node", "/usr/local/bin/node"];
  for (const node of candidates.filter((c) => existsSync(c))) {
    try {
      execFileSync(node, ["-e", "require('isolated-vm')"], { cwd, stdio: "ignore" });
      return node;
    } catch {
      // This Node cannot load it: try the next.
    }
  }
  throw new Error("no Node on this machine loads Directus's isolated-vm (npm rebuild it)");
}
