// The production start path with NODE_WORKERS: `npm run build`, then `node dist/server.js` as a
// real process tree on one embedded file (the way the peer benchmark runs it).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const node = resolve("node_modules/.bin/node");
const writesPerMinute = 5;

interface Answer {
  status: number;
  body: unknown;
}

/** One request on a connection of its own, so node:cluster hands it to any of the workers. */
function call(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<Answer> {
  return new Promise((done, fail) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent: false,
        headers: {
          connection: "close",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () =>
          done({ status: res.statusCode ?? 0, body: text === "" ? undefined : JSON.parse(text) }),
        );
      },
    );
    req.on("error", fail);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Worker processes under `pid` (node:cluster forks them as its children). */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

describe("node dist/server.js with NODE_WORKERS=2 on one file", () => {
  const dir = mkdtempSync(join(tmpdir(), "nearbase-workers-"));
  const port = 19_400 + (process.pid % 500);
  let server: ChildProcess;
  let log = "";

  beforeAll(async () => {
    execFileSync("npm", ["run", "--silent", "build"], { stdio: "ignore" });
    server = spawn(node, ["dist/server.js"], {
      env: {
        PATH: process.env.PATH,
        NODE_WORKERS: "2",
        HOST: "127.0.0.1",
        PORT: String(port),
        DATABASE_URL: `file:${join(dir, "data.db")}`,
        SIGNING_KEYS_FILE: join(dir, "signing-keys.json"),
        DATA_KEYS_FILE: join(dir, "data-keys.json"),
        PASSWORD_ITERATIONS: "10000",
        RATE_LIMIT_WRITE: `${writesPerMinute}/60s`,
        LOG_LEVEL: "warn",
        // Only these: none of the test run's own settings reach the server.
      } as unknown as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.stdout?.on("data", (chunk) => {
      log += chunk;
    });
    server.stderr?.on("data", (chunk) => {
      log += chunk;
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`the server exited:\n${log}`);
      // Both workers listening: two children, and /ready answered.
      const ready = await call(port, "GET", "/ready").catch(() => undefined);
      if (ready?.status === 200 && children(server.pid!).length === 2) break;
      if (Date.now() > deadline) throw new Error(`the server did not become ready:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 120_000);

  afterAll(() => {
    if (server?.exitCode === null) server.kill("SIGKILL");
    for (const pid of children(server?.pid ?? 0)) process.kill(pid, "SIGKILL");
  });

  it("runs on AsyncContextFrame: the launcher restarted Node in place with the flag, and the workers inherit it", () => {
    // The same pid as spawned (execve), now with the flag; each worker too.
    const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    for (const pid of [server.pid!, ...children(server.pid!)])
      expect(cmdline(pid)).toContain("--experimental-async-context-frame");
  });

  it("runs two worker processes, with the signing and data keys made once by the primary", () => {
    expect(children(server.pid!)).toHaveLength(2);
    expect(existsSync(join(dir, "signing-keys.json"))).toBe(true);
    // One key set for both workers: a field sealed by one must open in the other.
    expect(JSON.parse(readFileSync(join(dir, "data-keys.json"), "utf8"))).toHaveLength(1);
  });

  it("holds one write budget across the workers, and every allowed write lands in the file", async () => {
    const email = `workers-${Date.now()}@example.com`;
    const signup = await call(port, "POST", "/api/auth/signup", {
      email,
      password: "correct horse battery staple",
    });
    expect(signup.status).toBe(201);
    const token = (signup.body as { accessToken: string }).accessToken;

    // Twice the budget, side by side, each on a connection of its own (spread over both workers).
    // With a budget per process, up to twice as many would pass.
    const creates = await Promise.all(
      Array.from({ length: writesPerMinute * 2 }, (_, i) =>
        call(port, "POST", "/api/collections/posts/records", { title: `post ${i}` }, token),
      ),
    );
    const statuses = creates.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(writesPerMinute);
    expect(statuses.filter((s) => s === 429)).toHaveLength(writesPerMinute);

    // Reads from any worker see every committed write (one WAL file, no replication lag).
    for (let i = 0; i < 4; i++) {
      const list = await call(
        port,
        "GET",
        "/api/collections/posts/records?limit=50&total=true",
        undefined,
        token,
      );
      expect(list.status).toBe(200);
      expect((list.body as { total: number }).total).toBe(writesPerMinute);
    }
  });

  it("stops every worker on SIGTERM, leaving no orphan process", async () => {
    const workers = children(server.pid!);
    const exited = new Promise<number | null>((r) => server.once("exit", (code) => r(code)));
    server.kill("SIGTERM");
    await exited;
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of workers) expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});
