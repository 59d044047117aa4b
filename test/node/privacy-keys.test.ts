import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDataKey, Sealer } from "../../src/core/kernel/seal";
import { createTestApp, type TestApp } from "../harness";

/*
 * `npm run keys:rotate-data` against a real libSQL file, as an operator runs it: a new key goes
 * first in the key file, the re-encryption is stopped half way and resumed, older keys are dropped
 * only once nothing needs them. The example app's encrypted field is profiles.email.
 */

let t: TestApp;
let dir: string;
let file: string;
const ids: string[] = [];

function run(args: string[], env: Record<string, string> = {}) {
  const { DATA_ENCRYPTION_KEYS: _, ...inherited } = process.env;
  const out = spawnSync("npm", ["run", "--silent", "keys:rotate-data", "--", ...args], {
    encoding: "utf8",
    env: { ...inherited, DATABASE_URL: t.url, DATA_KEYS_FILE: file, ...env },
    timeout: 60_000,
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

const keyIds = () =>
  (JSON.parse(readFileSync(file, "utf8")) as { kid: string }[]).map((k) => k.kid);

async function rawEmails() {
  const rs = await t.client.execute("SELECT id, email FROM profiles ORDER BY id");
  return rs.rows.map((r) => ({ id: String(r.id), email: String(r.email) }));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nearbase-data-keys-"));
  file = join(dir, "data-keys.json");
  const old = JSON.stringify([generateDataKey(new Date("2026-01-01"))]);
  writeFileSync(file, old);
  t = await createTestApp({ env: { DATA_ENCRYPTION_KEYS: old } });
  for (let i = 0; i < 5; i++) {
    const u = await t.signIn();
    const res = await t.request("/api/collections/profiles/records", {
      method: "POST",
      headers: u.headers,
      json: { displayName: `p${i}`, email: `person-${i}@example.test` },
    });
    expect(res.status).toBe(201);
    ids.push(((await res.json()) as { id: string }).id);
  }
});

afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("npm run keys:rotate-data", () => {
  it("adds a key, re-encrypts in resumable batches with every value readable, then drops the old key", async () => {
    const [oldKid] = keyIds();
    const added = run(["--new-key"]);
    expect(added.code, added.stderr).toBe(0);
    const [newKid, stillOld] = keyIds();
    expect(stillOld).toBe(oldKid);
    expect(newKid).not.toBe(oldKid);
    const both = await Sealer.fromJson(readFileSync(file, "utf8"));

    // Stopped after one batch of two: 3 values left, the exit code says so.
    const half = run(["--batch-size", "2", "--max-batches", "1"]);
    expect(half.code, half.stderr).toBe(3);
    expect(half.stdout).toMatch(/re-sealed 2 values .* 3 left/);
    const mid = await rawEmails();
    expect(mid.filter((r) => r.email.startsWith(`nb1.${newKid}.`))).toHaveLength(2);
    for (const r of mid) {
      expect(r.email).not.toContain("example.test");
      expect(await both.open(r.email, `profiles/${r.id}/email`)).toBe(
        `person-${ids.indexOf(r.id)}@example.test`,
      );
    }
    // The old key cannot go while values need it.
    const early = run(["--drop-old"]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/3 values .* still need an older key/);
    expect(keyIds()).toEqual([newKid, oldKid]);

    const rest = run([]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout).toMatch(/re-sealed 3 values .* 0 left/);
    const dropped = run(["--drop-old"]);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(keyIds()).toEqual([newKid]);
    const onlyNew = await Sealer.fromJson(readFileSync(file, "utf8"));
    for (const r of await rawEmails())
      expect(await onlyNew.open(r.email, `profiles/${r.id}/email`)).toBe(
        `person-${ids.indexOf(r.id)}@example.test`,
      );
    // Nothing left: a further run changes nothing.
    expect(run([]).stdout).toMatch(/re-sealed 0 values/);
  }, 180_000);

  it("prints a key set for the Workers secret: the new key first, the current ones kept", async () => {
    const current = join(dir, "current.json");
    writeFileSync(current, JSON.stringify([generateDataKey()]));
    const printed = run(["--new-key", "--print", "--from", current]);
    expect(printed.code, printed.stderr).toBe(0);
    const set = JSON.parse(printed.stdout) as { kid: string }[];
    expect(set).toHaveLength(2);
    expect(set[1]!.kid).toBe(
      (JSON.parse(readFileSync(current, "utf8")) as { kid: string }[])[0]!.kid,
    );
    expect(await Sealer.fromJson(printed.stdout)).toBeDefined();
    // Keys kept in the environment are rotated where they are kept, not in a file.
    const refused = run(["--new-key"], { DATA_ENCRYPTION_KEYS: printed.stdout });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/DATA_ENCRYPTION_KEYS is set/);
    expect(refused.stderr).not.toContain((JSON.parse(printed.stdout) as { key: string }[])[0]!.key);
  }, 120_000);
});
