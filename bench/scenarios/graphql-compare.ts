// `npm run bench:graphql`: GraphQL against REST for the same reads, on the same server, in the
// same run — the closing number (GraphQL ≥ 0.8× REST throughput). GraphQL is asked both
// ways: POST (what most clients send) and GET (what a cacheable public read uses). Targets: the
// Node home and the Workers home (wrangler dev + the local libSQL server), shared cache off (every
// request does the database work). Pairs: the public list of 20 posts (bench scenario 1 vs 8),
// the owner-filtered list (3 vs 9), and 20 comments with their post (REST `expand=post` vs a
// nested GraphQL selection).
//
// A shared, loaded machine makes back-to-back runs drift by more than the difference we look
// for, so the sides alternate in short rounds (the order rotates every round) and a ratio is the
// median of the rounds' ratios. Next to req/s it reports CPU per request of the target's process
// tree (/proc), which contention on other cores disturbs much less. Every side is checked to
// return the same records before anything is measured.
//
// BENCH_SECONDS (3 per side and round), BENCH_ROUNDS (4), BENCH_CONNECTIONS (16),
// BENCH_TARGETS (node,workers), BENCH_RESULTS_DIR (bench/results: graphql-latest.md).
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { freePort } from "../../test/processes";
import { benchEmail, benchPassword, dataset, seedBenchDatabase } from "../lib/dataset";
import { type LoadResult, runLoad, type Scenario } from "../lib/load";
import { cpuTimeMs, startProcess, type Target } from "../lib/target";
import { nearbaseBenchEnv } from "../peers/settings";
import { graphqlOwnerList, graphqlPublicList } from "./graphql";

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const wanted = (process.env.BENCH_TARGETS ?? "node,workers").split(",");

const json = { "content-type": "application/json" };
const commentFields = "id created updated postId author body";
const postFields = "id created updated title body status tags author";

interface Pair {
  title: string;
  rest: (token: string) => Scenario;
  graphql: (token: string) => Scenario;
  /** The record ids an answer holds, to check both sides read the same records. */
  ids: (body: unknown, api: "rest" | "graphql") => string[];
}

/** The same GraphQL request as a GET (query in the URL). */
function asGet(s: Scenario): Scenario {
  const { query } = JSON.parse(s.body ?? "{}") as { query: string };
  const headers = { ...s.headers };
  delete headers["content-type"];
  return {
    ...s,
    method: "GET",
    path: `${s.path}?query=${encodeURIComponent(query)}`,
    headers,
    body: undefined,
  };
}

type Items = {
  items: { id: string; post?: { id: string } | null; expand?: { post?: { id: string } } }[];
};
const restIds = (body: unknown) => (body as Items).items.map((i) => i.id);
const graphqlIds = (key: string) => (body: unknown) =>
  ((body as { data: Record<string, Items> }).data[key] as Items).items.map((i) => i.id);

const pairs: Pair[] = [
  {
    title: "public list of 20",
    rest: () => ({ id: "1", title: "REST", path: "/api/collections/posts/records?limit=20" }),
    graphql: () => graphqlPublicList(),
    ids: (body, api) => (api === "rest" ? restIds(body) : graphqlIds("posts")(body)),
  },
  {
    title: "owner-filtered list (JWT + rule)",
    rest: (token) => ({
      id: "3",
      title: "REST",
      path: "/api/collections/bookmarks/records?limit=20",
      headers: { authorization: `Bearer ${token}` },
    }),
    graphql: (token) => graphqlOwnerList(token),
    ids: (body, api) => (api === "rest" ? restIds(body) : graphqlIds("bookmarks")(body)),
  },
  {
    title: "20 comments with their post",
    rest: () => ({
      id: "c",
      title: "REST",
      path: "/api/collections/comments/records?limit=20&expand=post",
    }),
    graphql: () => ({
      id: "c",
      title: "GraphQL",
      method: "POST",
      path: "/graphql",
      headers: json,
      body: JSON.stringify({
        query: `{ comments(limit: 20) { items { ${commentFields} post { ${postFields} } } } }`,
      }),
    }),
    // Each comment and the post it carries.
    ids: (body, api) =>
      api === "rest"
        ? (body as Items).items.flatMap((i) => [i.id, i.expand?.post?.id ?? "-"])
        : graphqlIds("comments")(body).flatMap((id, n) => [
            id,
            (body as { data: { comments: Items } }).data.comments.items[n]?.post?.id ?? "-",
          ]),
  },
];

async function send(target: Target, s: Scenario): Promise<unknown> {
  const res = await fetch(target.url + s.path, {
    method: s.method ?? "GET",
    headers: s.headers,
    body: s.body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${target.name} ${s.path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** GraphQL's throughput over REST's: the median of the rounds' ratios. */
const ratio = (l: Line, side: "post" | "get") =>
  median(l.rest.map((r, i) => l[side][i]!.requestsPerSec / r.requestsPerSec)).toFixed(2);

const dir = mkdtempSync(join(tmpdir(), "nearbase-bench-graphql-"));
const base = join(dir, "base.db");
console.log(`seeding ${dataset.posts} posts, ${dataset.users} users into ${base} …`);
await seedBenchDatabase(base);
const copy = (name: string) => {
  const path = join(dir, `${name}.db`);
  copyFileSync(base, path);
  return path;
};

// The benchmark's settings, as `npm run bench` (bench/peers/settings.ts), shared cache off.
// HOST is the Node home's listen address only.
const { HOST: _host, ...settings } = nearbaseBenchEnv;
const common = {
  JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
  ...settings,
  SHARED_CACHE: "off",
};

interface Line {
  target: string;
  pair: string;
  rest: LoadResult[];
  post: LoadResult[];
  get: LoadResult[];
}
const sides = ["rest", "post", "get"] as const;
const lines: Line[] = [];
const targets: Target[] = [];
try {
  if (wanted.includes("node")) {
    targets.push(
      await startProcess("node", "tsx", ["src/platform/node/main.ts"], {
        env: { ...common, PORT: "18812", DATABASE_URL: `file:${copy("node")}` },
        url: "http://127.0.0.1:18812",
        readyPath: "/ready",
      }),
    );
  }
  if (wanted.includes("workers")) {
    const vars = Object.entries(common).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    targets.push(
      await startProcess("workers", "tsx", ["scripts/dev.ts", ...vars], {
        env: {
          PORT: "18814",
          DEV_DB_PATH: copy("workers"),
          INSPECTOR_PORT: String(await freePort()),
        },
        url: "http://127.0.0.1:18814",
        readyPath: "/ready",
        timeoutMs: 90_000,
      }),
    );
  }

  for (const target of targets) {
    const login = await fetch(`${target.url}/api/auth/login`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ email: benchEmail, password: benchPassword }),
    });
    if (!login.ok) throw new Error(`${target.name}: login failed ${login.status}`);
    const token = ((await login.json()) as { accessToken: string }).accessToken;
    const cpu = () => target.pids().reduce((sum, pid) => sum + cpuTimeMs(pid), 0);
    for (const pair of pairs) {
      const rest = pair.rest(token);
      const post = pair.graphql(token);
      const scenarios = { rest, post, get: asGet(post) };
      const restIdsSeen = pair.ids(await send(target, rest), "rest");
      for (const side of ["post", "get"] as const) {
        const seen = pair.ids(await send(target, scenarios[side]), "graphql");
        if (restIdsSeen.length === 0 || restIdsSeen.join() !== seen.join())
          throw new Error(`${target.name} ${pair.title}: REST and GraphQL read different records`);
      }
      const line: Line = { target: target.name, pair: pair.title, rest: [], post: [], get: [] };
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < sides.length; i++) {
          const side = sides[(i + round) % sides.length]!;
          const result = await runLoad(target.url, scenarios[side], seconds, connections, cpu);
          if (result.non2xx > 0 || result.errors > 0)
            throw new Error(`${target.name} ${pair.title} ${side}: ${result.non2xx} non-2xx`);
          line[side].push(result);
        }
      }
      lines.push(line);
      console.log(
        `${target.name.padEnd(8)} ${pair.title.padEnd(34)} GraphQL/REST POST ${ratio(line, "post")}× GET ${ratio(line, "get")}×`,
      );
    }
  }
} finally {
  for (const target of targets) await target.stop();
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);
const rps = (rs: LoadResult[]) => median(rs.map((r) => r.requestsPerSec));
const cpu = (rs: LoadResult[]) => median(rs.map((r) => r.cpuMsPerRequest ?? Number.NaN));
const table = [
  "| target | read | REST req/s | GraphQL POST req/s | GET req/s | POST/REST | GET/REST | REST CPU ms/req | POST CPU ms/req | GET CPU ms/req |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...lines.map(
    (l) =>
      `| ${l.target} | ${l.pair} | ${fmt(rps(l.rest))} | ${fmt(rps(l.post))} | ${fmt(rps(l.get))} | ${ratio(l, "post")}× | ${ratio(l, "get")}× | ${fmt(cpu(l.rest), 2)} | ${fmt(cpu(l.post), 2)} | ${fmt(cpu(l.get), 2)} |`,
  ),
];
const date = new Date().toISOString().slice(0, 10);
const note = [
  `# GraphQL vs REST — ${date}`,
  "",
  `Machine: ${process.env.BENCH_MACHINE ?? "2 cores (shared)"}; load average at the end ${(
    await import("node:os")
  )
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(
      " ",
    )}. ${rounds} rounds per pair, ${seconds} s per side and round at ${connections} connections (each after a 1 s warm-up), sides alternating; shared cache off.`,
  `Dataset: ${dataset.posts} posts, ${dataset.users} users (seeded deterministically). CPU: the target's process tree (Workers: wrangler, workerd and the local libSQL server) per request. Rerun: \`npm run bench:graphql\`.`,
  "",
  ...table,
  "",
].join("\n");
console.log(`\n${note}`);
const out = process.env.BENCH_RESULTS_DIR ?? "bench/results";
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/graphql-latest.md`, note);
console.log(`written to ${out}/graphql-latest.md`);
