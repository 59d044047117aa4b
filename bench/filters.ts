// `npm run bench:filters`: the most expensive client filters the limits allow, against a real Node
// home (`tsx src/platform/node/main.ts`) on adversarial data, while /health is probed every 20 ms. Prints, per
// filter, the heavy request's status and time and /health's median and worst latency meanwhile.
// BENCH_LONG_POSTS (default 2000) sets how many posts get 20,000-character near-miss bodies.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { seed, seedPostId } from "../scripts/seed-data";
import { generateSigningJwk } from "../src/core/accounts/signing-keys";
import { migrateDatabase, optimizeDatabase } from "../src/platform/node/migrate";
import { startProcess } from "./lib/target";

const longPosts = Number(process.env.BENCH_LONG_POSTS ?? 2000);
const port = 18811;
const dir = mkdtempSync(join(tmpdir(), "nearbase-filters-"));
const path = join(dir, "filters.db");

console.log(`seeding 10,000 posts (${longPosts} with 20,000-character bodies) into ${path} …`);
{
  const db = createClient({ url: `file:${path}` });
  await migrateDatabase(db);
  await seed(db, { users: 1000, posts: 10_000 });
  // Near-miss text: `a…a` against patterns `a…ab` is LIKE's worst case (O(text × pattern)).
  const body = "a".repeat(20_000);
  for (let i = 0; i < longPosts; i += 500) {
    const ids = Array.from({ length: Math.min(500, longPosts - i) }, (_, k) => seedPostId(i + k));
    await db.execute({
      sql: `UPDATE posts SET body = ?, status = 'published' WHERE id IN (${ids.map(() => "?").join(",")})`,
      args: [body, ...ids],
    });
  }
  await optimizeDatabase(db);
  db.close();
}

const near = (n: number) => `${"a".repeat(n - 1)}b`;
const filters: [string, string, string][] = [
  ["posts", "one 100-char ~ over long bodies", `body ~ '${near(100)}'`],
  [
    "posts",
    "four 100-char ~ (the most allowed)",
    [1, 2, 3, 4].map((i) => `body ~ '${near(100 - i)}'`).join(" || "),
  ],
  [
    "comments",
    "eight relation paths, four with ~",
    [
      ...[1, 2, 3, 4].map((i) => `post.body ~ '${near(100 - i)}'`),
      ...[1, 2, 3, 4].map((i) => `post.title != 'x${i}'`),
    ].join(" || "),
  ],
];

const target = await startProcess("node", "tsx", ["src/platform/node/main.ts"], {
  env: {
    PORT: String(port),
    DATABASE_URL: `file:${path}`,
    JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
    RATE_LIMIT_READ: "off",
    LOG_LEVEL: "warn",
  },
  url: `http://127.0.0.1:${port}`,
  readyPath: "/ready",
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
try {
  console.log(
    "\n| filter | status | heavy ms | /health probes | /health p50 ms | /health max ms |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const [collection, name, filter] of filters) {
    const url = `${target.url}/api/collections/${collection}/records?limit=200&filter=${encodeURIComponent(filter)}`;
    const started = performance.now();
    let done = false;
    const heavy = fetch(url).then(async (res) => {
      await res.arrayBuffer();
      done = true;
      return { status: res.status, ms: performance.now() - started };
    });
    const health: number[] = [];
    while (!done) {
      const t = performance.now();
      await fetch(`${target.url}/health`).then((r) => r.arrayBuffer());
      health.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
    const result = await heavy;
    console.log(
      `| ${name} | ${result.status} | ${result.ms.toFixed(0)} | ${health.length} | ${median(health).toFixed(1)} | ${Math.max(...health).toFixed(1)} |`,
    );
  }
} finally {
  await target.stop();
  rmSync(dir, { recursive: true, force: true });
}
