import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../processes";

/**
 * The Dockerfile's runtime stage, assembled without Docker (none on this machine or in CI): the
 * files its COPY lines name, production dependencies only (`npm ci --omit=dev`, as the build
 * stage's `npm prune --omit=dev`), its ENV, its CMD and its HEALTHCHECK. If the bundle needs a
 * package that is only a devDependency, a file the image does not copy, or a path outside /app,
 * this fails as the image would (issue 17).
 */

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "nearbase-image-"));
let server: ChildProcess | undefined;
afterAll(() => {
  server?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

interface RuntimeStage {
  copies: { from: string; to: string }[];
  env: Record<string, string>;
  user: string | undefined;
  cmd: string[];
  healthcheck: string[];
}

/** The last stage of the Dockerfile: COPY --from=build, ENV, USER, CMD, HEALTHCHECK … CMD. */
function runtimeStage(text: string): RuntimeStage {
  const lines = text
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const last = lines.findLastIndex((l) => l.startsWith("FROM "));
  const stage: RuntimeStage = { copies: [], env: {}, user: undefined, cmd: [], healthcheck: [] };
  for (const line of lines.slice(last + 1)) {
    const [instruction, ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (instruction === "COPY") {
      const m = /^--from=build\s+\/app\/(\S+)\s+(\S+)$/.exec(args);
      if (m === null) throw new Error(`unexpected COPY: ${line}`);
      stage.copies.push({ from: m[1]!, to: m[2]!.replace(/^\.\//, "") });
    } else if (instruction === "ENV") {
      for (const [, k, v] of args.matchAll(/(\w+)=(\S+)/g)) stage.env[k!] = v!;
    } else if (instruction === "USER") {
      stage.user = args;
    } else if (instruction === "CMD") {
      stage.cmd = JSON.parse(args) as string[];
    } else if (instruction === "HEALTHCHECK") {
      stage.healthcheck = JSON.parse(args.slice(args.indexOf("CMD ") + 4)) as string[];
    }
  }
  return stage;
}

describe("the Docker image's runtime stage", () => {
  it("runs as a non-root user, starts from its own files with production dependencies only, and passes its HEALTHCHECK", async () => {
    const stage = runtimeStage(readFileSync("Dockerfile", "utf8"));
    expect(stage.user).toBeDefined();
    expect(stage.user).not.toMatch(/^(root|0)$/);
    expect(stage.cmd).toEqual(["node", "dist/server.js"]);

    // The build stage's builds, then its files as the runtime stage copies them.
    await run("npm", ["run", "--silent", "build"]);
    if (stage.copies.some((c) => c.from.startsWith("ui/")))
      await run("npm", ["run", "--silent", "build:ui"]);
    const app = join(dir, "app");
    mkdirSync(app);
    for (const file of ["package.json", "package-lock.json"]) cpSync(file, join(app, file));
    // `npm prune --omit=dev` in the image; from npm's cache here (the repo's npm ci filled it).
    await run(
      "npm",
      ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
      { cwd: app },
    );
    for (const { from, to } of stage.copies) {
      if (from === "node_modules" || from === "package.json") continue;
      expect(existsSync(from), `the image copies ${from}, which the build did not make`).toBe(true);
      cpSync(from, join(app, to), { recursive: true });
    }
    expect(existsSync(join(app, "src")), "the runtime stage must not need the sources").toBe(false);
    expect(existsSync(join(app, "node_modules", "tsx"))).toBe(false);

    // The image's environment, with /data moved to a temporary directory and a free port.
    const data = join(dir, "data");
    mkdirSync(data);
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? "",
      ...Object.fromEntries(
        Object.entries(stage.env).map(([k, v]) => [k, v.replaceAll("/data/", `${data}/`)]),
      ),
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "warn",
    } as unknown as NodeJS.ProcessEnv;
    const [command, ...args] = stage.cmd as [string, ...string[]];
    server = spawn(command === "node" ? process.execPath : command, args, { cwd: app, env });
    let output = "";
    server.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    server.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });

    // The HEALTHCHECK command itself decides when it is up.
    const [hc, ...hcArgs] = stage.healthcheck as [string, ...string[]];
    const healthcheck = () =>
      run(hc === "node" ? process.execPath : hc, hcArgs, { cwd: app, env }).then(
        () => true,
        () => false,
      );
    let healthy = false;
    for (let i = 0; i < 300 && !healthy; i++) {
      if (server.exitCode !== null) throw new Error(`the image's CMD exited: ${output}`);
      healthy = await healthcheck();
      if (!healthy) await new Promise((r) => setTimeout(r, 200));
    }
    expect(healthy, output).toBe(true);

    // It serves: an account, a record, and the keys it made live in the data volume.
    const base = `http://127.0.0.1:${port}`;
    const signup = await fetch(`${base}/api/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: "image@example.com",
        password: "correct horse battery staple",
      }),
    });
    expect(signup.status).toBe(201);
    const { accessToken } = (await signup.json()) as { accessToken: string };
    const created = await fetch(`${base}/api/collections/posts/records`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ title: "from the image", status: "published" }),
    });
    expect(created.status).toBe(201);
    expect(existsSync(join(data, "nearbase.db"))).toBe(true);
    expect(existsSync(join(data, "signing-keys.json"))).toBe(true);
    if (stage.copies.some((c) => c.from.startsWith("ui/"))) {
      // The admin dashboard the image copies is the one it serves.
      const ui = await fetch(`${base}/_/`);
      expect(ui.status).toBe(200);
      expect(ui.headers.get("content-type")).toMatch(/text\/html/);
    }

    // A stopped container: SIGTERM, exit 0; the HEALTHCHECK then fails.
    const exited = new Promise<number | null>((r) => server!.once("exit", (code) => r(code)));
    server.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(await healthcheck()).toBe(false);
  }, 300_000);
});
