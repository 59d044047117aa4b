// `npm run bench:webhooks` (npx tsx bench/webhooks.ts): the outbox's cost and webhook delivery in the Node home, in process,
// on real embedded libSQL files and a real HTTP receiver on loopback.
//   1. write throughput, events on vs off (same posts collection, `events: false` for "off"),
//      interleaved rounds in one run, BENCH_WRITES creates per side at BENCH_CONCURRENCY;
//   2. delivery latency from commit (the 201) to the receiver, p50/p99, BENCH_LATENCY_EVENTS
//      writes one at a time with the dispatcher running;
//   3. events/s one dispatcher sustains: BENCH_BACKLOG events committed with the dispatcher
//      stopped, then drained to one endpoint (in-flight cap 32) answering 204 at once.

import { collections } from "../src/collections/index";
import { postsCollection } from "../src/collections/posts";
import { defineCollection } from "../src/core/records/define";
import { createTestApp } from "../test/harness";
import { startReceiver } from "../test/node/webhook-receiver";

const writes = Number(process.env.BENCH_WRITES ?? 2000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const latencyEvents = Number(process.env.BENCH_LATENCY_EVENTS ?? 300);
const backlog = Number(process.env.BENCH_BACKLOG ?? 5000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
/** Which parts to run: `writes`, `latency`, `drain` (comma-separated; default all). */
const parts = new Set((process.env.BENCH_PARTS ?? "writes,latency,drain").split(","));
const env = {
  WEBHOOK_SECRET_KEY: "bench-webhook-key-0123456789abcdef0123456789",
  WEBHOOK_ALLOW_LOOPBACK: "true",
  DISPATCH_POLL_MS: "1000",
  LOG_LEVEL: "warn",
};

const quietPosts = defineCollection(postsCollection.table, {
  ...postsCollection.options,
  events: false,
});
const on = await createTestApp({ env });
const off = await createTestApp({
  env,
  collections: collections.map((c) => (c.name === "posts" ? quietPosts : c)),
});

async function createMany(app: typeof on, n: number) {
  const user = await app.signIn();
  const body = JSON.stringify({ title: "bench", status: "published" });
  const headers = { ...user.headers, "content-type": "application/json" };
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const res = await app.request("/api/collections/posts/records", {
          method: "POST",
          headers,
          body,
        });
        if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return {
    rate: n / ((performance.now() - started) / 1000),
    /** CPU µs of this whole process (all threads) per write: barely moved by other processes' load. */
    cpu: (used.user + used.system) / n,
  };
}

// 1. Events on vs off, interleaved rounds (warm-up first). Each round runs both sides back to back
// (alternating which goes first); the cost is the median of the per-round ratios, which a burst
// of load from elsewhere on the machine moves far less than a ratio of totals.
if (parts.has("writes")) {
  await createMany(on, 200);
  await createMany(off, 200);
  type Sample = Awaited<ReturnType<typeof createMany>>;
  const samples = { on: [] as Sample[], off: [] as Sample[] };
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      samples.on.push(await createMany(on, writes / rounds));
      samples.off.push(await createMany(off, writes / rounds));
    } else {
      samples.off.push(await createMany(off, writes / rounds));
      samples.on.push(await createMany(on, writes / rounds));
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const pct = (xs: number[]) => xs.map((c) => c.toFixed(0)).join(", ");
  const rateCosts = samples.on.map((s, i) => (1 - s.rate / samples.off[i]!.rate) * 100);
  const cpuCosts = samples.on.map((s, i) => (s.cpu / samples.off[i]!.cpu - 1) * 100);
  const cpuOn = median(samples.on.map((s) => s.cpu));
  const cpuOff = median(samples.off.map((s) => s.cpu));
  const events = await on.client.execute("SELECT count(*) AS n FROM nb_events");
  const none = await off.client.execute("SELECT count(*) AS n FROM nb_events");
  console.log(
    `writes (in-process creates, ${concurrency} concurrent, ${writes} per side in ${rounds} interleaved rounds):\n` +
      `  throughput: events on ${median(samples.on.map((s) => s.rate)).toFixed(0)}/s, off ${median(samples.off.map((s) => s.rate)).toFixed(0)}/s; cost median ${median(rateCosts).toFixed(1)}% (per round: ${pct(rateCosts)}%)\n` +
      `  CPU per write: on ${cpuOn.toFixed(0)} µs, off ${cpuOff.toFixed(0)} µs; cost median ${median(cpuCosts).toFixed(1)}% (per round: ${pct(cpuCosts)}%)\n` +
      `  outbox rows: on ${events.rows[0]!.n}, off ${none.rows[0]!.n}`,
  );
}
await off.close();

// 2. Latency from commit to receiver.
const rx = await startReceiver();
const admin = await on.signIn("admin");
const sub = async (path: string, maxConcurrency: number) => {
  const res = await on.request("/api/webhooks", {
    method: "POST",
    headers: admin.headers,
    json: { url: rx.url(path), patterns: ["posts.created"], maxConcurrency },
  });
  if (res.status !== 201) throw new Error(await res.text());
  return (await res.json()) as { id: string };
};
// Outbox rows from part 1 are fanned out before any endpoint exists (no deliveries).
on.platform.dispatcher.start();
await on.platform.dispatcher.idle();
const user = await on.signIn();
if (parts.has("latency")) {
  const latencyEp = await sub("/latency", 8);
  const committed = new Map<string, number>();
  const arrivals = new Map<string, number>();
  rx.set((r) => {
    if (r.path === "/latency")
      arrivals.set((JSON.parse(r.body) as { data: { id: string } }).data.id, performance.now());
    return 204;
  });
  for (let i = 0; i < latencyEvents; i++) {
    const res = await on.request("/api/collections/posts/records", {
      method: "POST",
      headers: user.headers,
      json: { title: `latency ${i}`, status: "published" },
    });
    committed.set(((await res.json()) as { id: string }).id, performance.now());
    await new Promise((r) => setTimeout(r, 5));
  }
  await rx.until(() => arrivals.size >= latencyEvents);
  const latencies = [...committed].map(([id, t]) => arrivals.get(id)! - t).sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  console.log(
    `delivery latency, commit → receiver (${latencyEvents} events, dispatcher woken by each commit): p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
  );
  await on.request(`/api/webhooks/${latencyEp.id}`, { method: "DELETE", headers: admin.headers });
}

// 3. One dispatcher draining a backlog.
await on.platform.dispatcher.stop();
if (parts.has("drain")) {
  await sub("/drain", 32);
  let drained = 0;
  rx.set((r) => {
    if (r.path === "/drain") drained++;
    return 204;
  });
  for (let done = 0; done < backlog; done += 50) {
    const operations = Array.from({ length: Math.min(50, backlog - done) }, (_, i) => ({
      method: "POST",
      collection: "posts",
      body: { title: `drain ${done + i}` },
    }));
    const res = await on.request("/api/batch", {
      method: "POST",
      headers: user.headers,
      json: { operations },
    });
    if (res.status !== 200) throw new Error(await res.text());
  }
  const started = performance.now();
  on.platform.dispatcher.start();
  await rx.until(() => drained >= backlog);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `one Node dispatcher: ${backlog} events to one endpoint (in-flight cap 32) in ${seconds.toFixed(2)} s = ${(backlog / seconds).toFixed(0)} events/s`,
  );
  await on.platform.dispatcher.stop();
}
await rx.close();
await on.close();
