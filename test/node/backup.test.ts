import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@libsql/client";
import { afterAll, describe, expect, it } from "vitest";
import { backupDatabase, restoreToRemote } from "../../scripts/lib/backup";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { randomToken } from "../../src/core/kernel/crypto";
import { migrateDatabase } from "../../src/platform/node/migrate";
import { startLibsqlServer } from "../../tools/libsql-server/server";
import { createTestApp } from "../harness";
import { freePort } from "../processes";

/**
 * Backups and restore (docs/operations.md): `npm run db:backup` snapshots a LIVE embedded
 * database, `npm run db:restore` puts a snapshot back, and the real server then serves it. A
 * remote database (a libSQL server over HTTP, as Turso) is copied logically in one read
 * transaction and can be restored into an empty one only.
 */
const execFileAsync = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "nearbase-backup-"));
  dirs.push(dir);
  return dir;
}

/** Runs one of the project's scripts as `npm run` would (tsx, Node 22), never throwing. */
async function script(name: string, args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await execFileAsync("npx", ["tsx", `scripts/${name}.ts`, ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/** Starts the real Node home (`npm start`'s entry) on a database file; resolves once it serves. */
async function serve(dbPath: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const keys = JSON.stringify([await generateSigningJwk()]);
  const child = spawn("npx", ["tsx", "src/platform/node/main.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: `file:${dbPath}`,
      PORT: String(port),
      HOST: "127.0.0.1",
      JWT_PRIVATE_KEYS: keys,
      LOG_LEVEL: "warn",
    },
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("server did not become ready");
}

async function titles(url: string, marker: string): Promise<string[]> {
  const res = await fetch(
    `${url}/api/collections/posts/records?filter=${encodeURIComponent(`title ~ '${marker}'`)}`,
  );
  expect(res.status).toBe(200);
  const body = (await res.json()) as { items: { title: string }[] };
  return body.items.map((p) => p.title).sort();
}

describe("backups and restore", () => {
  it("snapshots a live embedded database, and the restored file is what the server then serves", async () => {
    const dir = tempDir();
    const marker = `bk${randomToken(6).replaceAll(/[-_]/g, "x")}`;
    const t = await createTestApp();
    let server: ChildProcess | undefined;
    try {
      const author = await t.signIn();
      const post = (title: string) =>
        t.request("/api/collections/posts/records", {
          method: "POST",
          headers: author.headers,
          json: { title, status: "published" },
        });
      expect((await post(`${marker} before`)).status).toBe(201);

      // The app keeps its connections open while the snapshot is taken.
      const snapshot = join(dir, "snap.db");
      const backup = await script("db-backup", ["--out", snapshot], { DATABASE_URL: t.url });
      expect(backup.out).toMatch(/vacuum-into.*integrity_check ok/);
      expect(backup.code).toBe(0);
      expect((await post(`${marker} after`)).status).toBe(201);

      // A backup never overwrites: the same name again is refused.
      const again = await script("db-backup", ["--out", snapshot], { DATABASE_URL: t.url });
      expect(again.code).toBe(1);
      expect(again.out).toMatch(/already exists/);

      const target = join(dir, "restored.db");
      const restore = await script("db-restore", [snapshot], { DATABASE_URL: `file:${target}` });
      expect(restore.out).toMatch(/restored/);
      expect(restore.code).toBe(0);

      const running = await serve(target);
      server = running.child;
      // What was committed before the snapshot is there; what came after is not.
      expect(await titles(running.url, marker)).toEqual([`${marker} before`]);
      server.kill("SIGTERM");
      await new Promise((r) => server?.once("exit", r));
      server = undefined;

      // Restoring over an existing database moves it aside; nothing is deleted.
      const second = await script("db-restore", [snapshot], { DATABASE_URL: `file:${target}` });
      expect(second.code).toBe(0);
      expect(readdirSync(dir).some((f) => f.startsWith("restored.db.before-restore-"))).toBe(true);
    } finally {
      server?.kill("SIGKILL");
      await t.close();
    }
  }, 180_000);

  it("refuses a damaged snapshot and one made by a newer version, leaving the target untouched", async () => {
    const dir = tempDir();
    const damaged = join(dir, "damaged.db");
    writeFileSync(damaged, "this is not a database".repeat(100));
    const target = join(dir, "target.db");
    const bad = await script("db-restore", [damaged], { DATABASE_URL: `file:${target}` });
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/restore failed/);
    expect(existsSync(target)).toBe(false);

    // A snapshot whose journal names a migration this checkout does not have.
    const newer = join(dir, "newer.db");
    const db = createClient({ url: `file:${newer}` });
    await migrateDatabase(db);
    await db.execute({
      sql: "INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)",
      args: ["f".repeat(64), Date.now()],
    });
    db.close();
    const refused = await script("db-restore", [newer], { DATABASE_URL: `file:${target}` });
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/migration\(s\) this version does not have/);
    expect(existsSync(target)).toBe(false);
  }, 120_000);

  it("copies a remote database in one snapshot and restores it into an empty one only", async () => {
    const dir = tempDir();
    const primary = await startLibsqlServer({ path: join(dir, "primary.db"), port: 0 });
    const empty = await startLibsqlServer({ path: join(dir, "empty.db"), port: 0 });
    const source = createClient({ url: primary.url });
    const target = createClient({ url: empty.url });
    try {
      await migrateDatabase(source);
      const now = new Date().toISOString();
      const rows = Array.from({ length: 2_500 }, (_, i) => ({
        sql: "INSERT INTO posts (id, created, updated, title, author, status) VALUES (?, ?, ?, ?, ?, 'published')",
        args: [`pst_remote${i}`, now, now, `remote ${i}`, "usr_remote"],
      }));
      await source.batch(rows, "write");

      const snapshot = join(dir, "remote.db");
      const report = await backupDatabase(source, primary.url, snapshot);
      expect(report.method).toBe("logical-copy");
      expect(report.tables.posts).toBe(2_500);
      expect(report.migrations).toBeGreaterThan(0);

      const restored = await restoreToRemote(snapshot, target);
      expect(restored.tables.posts).toBe(2_500);
      const count = await target.execute(
        "SELECT count(*) AS n FROM posts WHERE author = 'usr_remote'",
      );
      expect(Number(count.rows[0]?.n)).toBe(2_500);
      // Indexes came along (a restored database answers with the same plans).
      const indexes = await target.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'posts' AND name = 'posts_created_idx'",
      );
      expect(indexes.rows.length).toBe(1);

      // Never merged into a database that already holds tables.
      await expect(restoreToRemote(snapshot, target)).rejects.toThrow(/not empty/);
    } finally {
      source.close();
      target.close();
      await primary.close();
      await empty.close();
    }
  }, 120_000);
});
