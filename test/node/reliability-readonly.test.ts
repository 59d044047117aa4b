import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Database from "libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadTestEnv,
  type NodeHome,
  type Session,
  signUp,
  startNodeHome,
} from "../../bench/soak/lib";
import { testKeys } from "../harness";

/**
 * The Node home's file system turning read-only under a running server (issue #24) — what the
 * kernel does to an ext4 volume that hits an error (`errors=remount-ro`), with the database open
 * for writing. It is staged for real: a small ext4 image on a loop device, mounted with
 * errors=remount-ro, and ext4's own test hook (`/sys/fs/ext4/<dev>/trigger_fs_error`) raising
 * an error. That needs the right to mount (root here); elsewhere the case is skipped, and says so.
 * (A plain `chmod` does not stop root, nor a process that already holds the file open; and
 * `mount -o remount,ro` is refused while a file on it is open for writing.)
 *
 * Writes answer 503 UNAVAILABLE with Retry-After (never a 500), reads and /health still answer,
 * the process stays up. ext4 cannot go back to read-write once it has aborted its journal, so
 * recovery is the operator's: stop, e2fsck, mount, start — then the refused writes are absent,
 * the file passes `PRAGMA integrity_check`, and writes work. With DATABASE_SYNCHRONOUS=full every
 * acknowledged write is there too; with the default (normal) the writes committed since the last
 * checkpoint were still in the page cache and are lost with it (the documented NORMAL trade-off,
 * as for an OS crash), all or nothing per transaction.
 */

const dir = mkdtempSync(join(tmpdir(), "nearbase-readonly-"));
const image = join(dir, "volume.img");
const mountPoint = join(dir, "mnt");
mkdirSync(mountPoint);
const mountVolume = () =>
  execFileSync("mount", ["-o", "loop,errors=remount-ro", image, mountPoint], { stdio: "ignore" });
/** ext4's sysfs directory for the mounted loop device (its error hook lives there). */
let ext4Sysfs = "";
const canStage = (() => {
  try {
    writeFileSync(image, "");
    execFileSync("truncate", ["-s", "32M", image]);
    execFileSync("mkfs.ext4", ["-q", "-F", image], { stdio: "ignore" });
    mountVolume();
    const device = execFileSync("findmnt", ["-no", "SOURCE", mountPoint]).toString().trim();
    ext4Sysfs = `/sys/fs/ext4/${basename(device)}`;
    return existsSync(join(ext4Sysfs, "trigger_fs_error"));
  } catch {
    return false;
  }
})();
if (!canStage)
  console.warn(
    "reliability-readonly: cannot mount an ext4 loop image here (needs root); the case is skipped",
  );

const dbPath = join(mountPoint, "readonly.db");
const env = async () => ({
  ...loadTestEnv,
  DATABASE_URL: `file:${dbPath}`,
  DATABASE_SYNCHRONOUS: "full",
  JWT_PRIVATE_KEYS: await testKeys(),
  DATA_KEYS_FILE: join(dir, "keys.json"),
});
let home: NodeHome | undefined;
let account: Session;

beforeAll(async () => {
  if (!canStage) return;
  home = await startNodeHome(await env());
  account = await signUp(home.base, "readonly@example.com");
}, 180_000);
afterAll(async () => {
  await home?.stop("SIGKILL");
  try {
    execFileSync("umount", ["-l", mountPoint], { stdio: "ignore" });
  } catch {}
  rmSync(dir, { recursive: true, force: true });
});

const create = async (title: string) => {
  const res = await fetch(`${home!.base}/api/collections/posts/records`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${account.accessToken}` },
    body: JSON.stringify({ title, status: "published" }),
  });
  return { res, body: await res.text() };
};
const findByTitle = (title: string) =>
  fetch(
    `${home!.base}/api/collections/posts/records?filter=${encodeURIComponent(`title = '${title}'`)}`,
    { headers: { authorization: `Bearer ${account.accessToken}` } },
  );
const readFile = <T>(fn: (db: Database.Database) => T): T => {
  const db = new Database(dbPath);
  try {
    return fn(db);
  } finally {
    db.close();
  }
};
const count = (title: string) =>
  readFile((db) =>
    Number(
      (db.prepare("SELECT count(*) AS n FROM posts WHERE title = ?").get(title) as { n: number }).n,
    ),
  );
const mountOptions = () => execFileSync("findmnt", ["-no", "OPTIONS", mountPoint]).toString();

describe("file system turns read-only under the Node home", () => {
  it.skipIf(!canStage)(
    "writes 503 + Retry-After, reads and /health still answer; after repair and restart the file is intact and, with DATABASE_SYNCHRONOUS=full, nothing acknowledged is lost",
    async () => {
      const before = await create("before the disk error");
      expect(before.res.status, before.body).toBe(201);

      // The kernel's answer to a disk error on an errors=remount-ro volume.
      writeFileSync(join(ext4Sysfs, "trigger_fs_error"), "nearbase reliability test");
      // (Linux 6.x reports it as the `emergency_ro` superblock flag; older kernels as `ro`.)
      expect(mountOptions()).toMatch(/(^|,)(ro|emergency_ro)(,|$)/m);

      const refused = [];
      for (let i = 0; i < 3; i++) refused.push(await create(`refused ${i}`));
      for (const r of refused) {
        expect(r.res.status, r.body).toBe(503);
        expect(r.res.headers.get("retry-after")).toBe("5");
        expect(r.res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        expect(JSON.parse(r.body)).toMatchObject({ code: "UNAVAILABLE" });
        expect(r.body).not.toMatch(/SQLITE|I\/O|disk|\/tmp\//i);
      }
      const read = await findByTitle("before the disk error");
      expect(read.status).toBe(200);
      expect(await read.text()).toContain("before the disk error");
      expect((await fetch(`${home!.base}/health`)).status).toBe(200);
      expect(home!.child.exitCode).toBeNull();

      // The operator's repair: stop, unmount, check the volume, mount it again, start.
      await home!.stop("SIGTERM");
      execFileSync("umount", [mountPoint]);
      try {
        execFileSync("e2fsck", ["-f", "-y", image], { stdio: "ignore" });
      } catch (err) {
        // 1: errors were corrected (the error the hook recorded); anything more is a failure.
        expect((err as { status?: number }).status).toBe(1);
      }
      mountVolume();
      home = await startNodeHome(await env());

      expect(count("before the disk error")).toBe(1);
      for (let i = 0; i < 3; i++) expect(count(`refused ${i}`)).toBe(0);
      expect(
        readFile(
          (db) =>
            (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string })
              .integrity_check,
        ),
      ).toBe("ok");
      const after = await create("after the repair");
      expect(after.res.status, after.body).toBe(201);
      expect(await (await findByTitle("after the repair")).text()).toContain("after the repair");
    },
    120_000,
  );
});
