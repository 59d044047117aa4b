// `npm run bench:files` — the numbers issue #20 asks for, rerunnable:
//
//   thumbnail CPU   a 256×256 thumbnail (crop) of a 2 MP JPEG (1732×1155, photo-like: blurred
//                   noise), N times after a warm-up:
//                   · Node: sharp in process, CPU = process.cpuUsage() (all libvips threads)
//                   · workerd: the Workers adapter in a probe worker (bench/files-thumb-worker.ts)
//                     under `wrangler dev`; CPU of the workerd process from /proc over N requests
//                     minus its idle CPU over the same wall time — the Worker's share, which is
//                     what counts against the free plan's 10 ms. The resize itself is done by
//                     Cloudflare Images in production; locally miniflare does it with sharp in
//                     wrangler's Node process (reported too, as "emulated Images").
//   10 MiB files    upload (multipart create, and direct: upload-url + streamed PUT) and
//                   download of a 10 MiB file through a Node home
//                   served over HTTP on loopback (@hono/node-server, embedded libSQL, disk
//                   storage), median MiB/s of ROUNDS.
//
// Env: N (default 40), ROUNDS (default 5), ONLY=thumbs|transfer.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { serve } from "@hono/node-server";
import sharp from "sharp";
import { createTestApp } from "../test/harness";
import { cpuTimeMs } from "./lib/target";

const N = Number(process.env.N ?? 40);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const ONLY = process.env.ONLY;
const root = resolve(import.meta.dirname, "..");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

async function photo(): Promise<Buffer> {
  const noise = await sharp({
    create: {
      width: 1732,
      height: 1155,
      channels: 3,
      background: "#808080",
      noise: { type: "gaussian", mean: 128, sigma: 60 },
    },
  })
    .png()
    .toBuffer();
  return sharp(noise).blur(1.2).jpeg({ quality: 85 }).toBuffer();
}

async function nodeThumbs(jpeg: Buffer) {
  const one = () => sharp(jpeg).rotate().resize(256, 256, { fit: "cover" }).jpeg({ quality: 82 });
  for (let i = 0; i < 3; i++) await one().toBuffer();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await one().toBuffer();
  const wall = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000 / N, wallMs: wall / N };
}

function workerdPid(parent: number): number | undefined {
  const kids = (pid: number): number[] => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number)
        .flatMap((c) => [c, ...kids(c)]);
    } catch {
      return [];
    }
  };
  return kids(parent).find((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("workerd");
    } catch {
      return false;
    }
  });
}

async function workerdThumbs(jpeg: Buffer) {
  const port = await freePort();
  const inspector = await freePort();
  const child: ChildProcess = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      "-c",
      "bench/files-thumb.wrangler.toml",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
    ],
    {
      cwd: root,
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}/`;
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${output}`);
      try {
        if ((await fetch(url)).ok) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 300));
    }
    const pid = workerdPid(child.pid!);
    if (pid === undefined) throw new Error("no workerd process under wrangler dev");
    const thumb = async () => {
      const res = await fetch(`${url}?thumb=256x256`, { method: "POST", body: jpeg });
      if (!res.ok) throw new Error(`probe answered ${res.status}: ${await res.text()}`);
      return Buffer.from(await res.arrayBuffer());
    };
    const first = await sharp(await thumb()).metadata();
    if (first.width !== 256 || first.height !== 256 || first.format !== "jpeg")
      throw new Error(`unexpected thumbnail ${first.width}×${first.height} ${first.format}`);
    for (let i = 0; i < 3; i++) await thumb();
    // Idle CPU over a second, scaled to the run's wall time.
    const idle0 = cpuTimeMs(pid);
    await new Promise((r) => setTimeout(r, 1000));
    const idlePerMs = (cpuTimeMs(pid) - idle0) / 1000;
    const worker0 = cpuTimeMs(pid);
    const wrangler0 = cpuTimeMs(child.pid!) - worker0;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await thumb();
    const wall = performance.now() - t0;
    const worker = cpuTimeMs(pid) - worker0 - idlePerMs * wall;
    const emulated = cpuTimeMs(child.pid!) - cpuTimeMs(pid) - wrangler0;
    return { cpuMs: worker / N, emulatedImagesCpuMs: emulated / N, wallMs: wall / N };
  } finally {
    process.kill(-child.pid!, "SIGTERM");
  }
}

async function transfer() {
  const t = await createTestApp({ env: { PASSWORD_ITERATIONS: "10000" } });
  const port = await freePort();
  const server = serve({ fetch: t.app.fetch, port, hostname: "127.0.0.1" });
  const base = `http://127.0.0.1:${port}`;
  try {
    const owner = await t.signIn();
    const size = 10 * 1024 * 1024;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >> 9)) & 0xff;
    bytes[0] = 0;
    const up: number[] = [];
    const down: number[] = [];
    const direct: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const form = new FormData();
      form.append("title", `bench ${r}`);
      form.append("document", new Blob([bytes]), "ten.bin");
      let t0 = performance.now();
      const res = await fetch(`${base}/api/collections/attachments/records`, {
        method: "POST",
        headers: owner.headers,
        body: form,
      });
      const rec = (await res.json()) as { id: string; document: string };
      up.push(performance.now() - t0);
      if (res.status !== 201) throw new Error(`upload answered ${res.status}`);
      t0 = performance.now();
      const got = await fetch(`${base}/api/files/attachments/${rec.id}/${rec.document}`, {
        headers: owner.headers,
      });
      const body = new Uint8Array(await got.arrayBuffer());
      down.push(performance.now() - t0);
      if (body.length !== size || Buffer.compare(Buffer.from(body), Buffer.from(bytes)) !== 0)
        throw new Error("download differs from upload");

      // Direct upload: ask for the URL, then PUT the bytes (streamed to disk while hashed).
      const shell = (await (
        await fetch(`${base}/api/collections/attachments/records`, {
          method: "POST",
          headers: { ...owner.headers, "content-type": "application/json" },
          body: JSON.stringify({ title: `direct ${r}` }),
        })
      ).json()) as { id: string };
      t0 = performance.now();
      const grant = (await (
        await fetch(`${base}/api/files/attachments/${shell.id}/document/upload-url`, {
          method: "POST",
          headers: { ...owner.headers, "content-type": "application/json" },
          body: JSON.stringify({ filename: "ten.bin", size }),
        })
      ).json()) as { url: string };
      const put = await fetch(`${base}${grant.url}`, { method: "PUT", body: bytes });
      await put.arrayBuffer();
      direct.push(performance.now() - t0);
      if (put.status !== 200) throw new Error(`direct upload answered ${put.status}`);
    }
    const mibs = (ms: number) => 10 / (ms / 1000);
    return {
      uploadMiBs: mibs(median(up)),
      directMiBs: mibs(median(direct)),
      downloadMiBs: mibs(median(down)),
      up,
      direct,
      down,
    };
  } finally {
    server.close();
    await t.close();
  }
}

const jpeg = await photo();
const meta = await sharp(jpeg).metadata();
console.log(
  `source: ${meta.width}×${meta.height} JPEG, ${(jpeg.length / 1024).toFixed(0)} KiB; N=${N}`,
);
if (ONLY !== "transfer") {
  const node = await nodeThumbs(jpeg);
  console.log(
    `Node (sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}): ${node.cpuMs.toFixed(1)} ms CPU, ${node.wallMs.toFixed(1)} ms wall per 256×256 thumbnail`,
  );
  const w = await workerdThumbs(jpeg);
  console.log(
    `workerd (IMAGES binding): ${w.cpuMs.toFixed(2)} ms CPU of the Worker per thumbnail (${w.wallMs.toFixed(1)} ms wall; emulated Images in wrangler's Node: ${w.emulatedImagesCpuMs.toFixed(1)} ms CPU)`,
  );
}
if (ONLY !== "thumbs") {
  const r = await transfer();
  console.log(
    `Node home, 10 MiB file over HTTP (median of ${ROUNDS}): upload ${r.uploadMiBs.toFixed(0)} MiB/s (multipart create), ${r.directMiBs.toFixed(0)} MiB/s (direct: upload-url + PUT), download ${r.downloadMiBs.toFixed(0)} MiB/s (ms: up ${r.up.map((x) => x.toFixed(0)).join(" ")}; direct ${r.direct.map((x) => x.toFixed(0)).join(" ")}; down ${r.down.map((x) => x.toFixed(0)).join(" ")})`,
  );
}
process.exit(0);
