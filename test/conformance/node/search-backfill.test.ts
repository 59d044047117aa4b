import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDatabase } from "../../../src/platform/node/migrate";
import { embedTest, startTestEmbedder, type TestEmbedder } from "../../search-embedder";

// `npm run embed:backfill` for real: the script in its own process on a migrated libSQL file
// with rows that existed before anything embedded them, against the loopback embedder (slowed
// down so a Ctrl-C lands half way).
const rows = 120;
let dir: string;
let url: string;
let client: Client;
let embedder: TestEmbedder;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nb-backfill-"));
  url = `file:${join(dir, "test.db")}`;
  client = createClient({ url });
  await migrateDatabase(client);
  const now = new Date().toISOString();
  await client.batch(
    Array.from({ length: rows }, (_, i) => ({
      sql: "INSERT INTO notes (id, created, updated, owner, title, body, public) VALUES (?, ?, ?, 'usr_backfill', ?, ?, 1)",
      args: [`nte_${String(i).padStart(16, "0")}`, now, now, `note ${i}`, `body words ${i % 7}`],
    })),
    "write",
  );
  embedder = await startTestEmbedder({ delayMs: 150 });
});
afterAll(async () => {
  client?.close();
  await embedder?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the backfill script (Node 22 + tsx, as the npm script does); `onLine` sees stdout. */
function backfill(
  env: Record<string, string>,
  onLine?: (line: string, child: ChildProcess) => void,
) {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "scripts/embed-backfill.ts", "--batch", "10"],
    {
      // Only what the script needs (ProcessEnv is augmented with app settings elsewhere).
      env: {
        PATH: process.env.PATH ?? "",
        DATABASE_URL: url,
        ...env,
      } as unknown as NodeJS.ProcessEnv,
      stdio: "pipe",
    },
  );
  const out: string[] = [];
  let partial = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      out.push(line);
      onLine?.(line, child);
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => out.push(chunk.toString()));
  return new Promise<{ code: number | null; out: string[] }>((resolve) =>
    child.on("close", (code: number | null) => resolve({ code, out: [...out, partial] })),
  );
}

const statuses = async () => {
  const rs = await client.execute(
    "SELECT embedding_status AS s, count(*) AS n FROM notes GROUP BY embedding_status",
  );
  return Object.fromEntries(rs.rows.map((r) => [String(r.s), Number(r.n)])) as {
    ready?: number;
    pending?: number;
  };
};

describe("npm run embed:backfill", () => {
  it("refuses to run without an embedder", async () => {
    const { code, out } = await backfill({});
    expect(code).toBe(2);
    expect(out.join("\n")).toContain("EMBEDDINGS_URL is not set");
    expect(await statuses()).toEqual({ pending: rows });
  });

  it("stops half way on Ctrl-C, resumes, and embeds every row exactly once", async () => {
    const env = { EMBEDDINGS_URL: embedder.url, EMBEDDINGS_MODEL: "test" };
    let signalled = false;
    const first = await backfill(env, (line, child) => {
      const ready = Number(/^(\d+)\/\d+ ready/.exec(line)?.[1] ?? 0);
      if (!signalled && ready >= rows / 2) {
        signalled = true;
        child.kill("SIGINT");
      }
    });
    expect(first.code, first.out.join("\n")).toBe(130);
    expect(first.out.join("\n")).toContain("run again to resume");
    const half = await statuses();
    const ready = half.ready ?? 0;
    const pending = half.pending ?? 0;
    expect(ready).toBeGreaterThanOrEqual(rows / 2);
    expect(pending).toBeGreaterThan(0);
    expect(ready + pending).toBe(rows);

    const second = await backfill(env);
    expect(second.code, second.out.join("\n")).toBe(0);
    expect(second.out.at(-2) ?? second.out.join("\n")).toMatch(/done: 120\/120 ready/);
    // The resumed run started where the first stopped.
    expect(second.out[0]).toMatch(new RegExp(`^${ready}/${rows} ready`));
    expect(await statuses()).toEqual({ ready: rows });
    // No row was embedded twice: the embedder saw each row's text once.
    const seen = embedder.inputs();
    expect(seen.length).toBe(rows);
    expect(new Set(seen).size).toBe(rows);
    // And each stored vector is the embedding of that row's text.
    const rs = await client.execute(
      "SELECT title, body, vector_extract(embedding) AS v FROM notes ORDER BY id LIMIT 3",
    );
    for (const r of rs.rows) {
      const stored = JSON.parse(String(r.v)) as number[];
      const expected = embedTest(`${r.title}\n${r.body}`);
      for (const [i, x] of stored.entries()) expect(x).toBeCloseTo(expected[i]!, 5);
    }
  }, 60_000);
});
