import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { answering, collectOutput, freePort } from "../processes";

/**
 * Graceful shutdown of the Node home (issue 17), on a real process: SIGTERM stops accepting, closes
 * idle keep-alive connections, lets in-flight requests finish within SHUTDOWN_GRACE_MS, closes
 * libSQL and exits 0; past the bound it cuts what is left and exits 1. `npm start` leaves no server
 * behind when npm itself is signalled.
 */

const dir = mkdtempSync(join(tmpdir(), "nearbase-shutdown-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

async function environment(name: string, extra: Record<string, string> = {}) {
  const port = await freePort();
  return {
    port,
    env: {
      ...process.env,
      DATABASE_URL: `file:${join(dir, `${name}.db`)}`,
      PORT: String(port),
      HOST: "127.0.0.1",
      JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
      DATA_KEYS_FILE: join(dir, `${name}.keys`),
      PASSWORD_ITERATIONS: "10000",
      LOG_LEVEL: "info",
      ...extra,
    } as unknown as NodeJS.ProcessEnv,
  };
}

/** Resolves when the server answers /ready; the process's stdout is collected in `out`. */
async function ready(child: ChildProcess, port: number, out: string[]) {
  const output = collectOutput(child);
  // `out` sees the output as it comes (the tests look for log lines after the start).
  child.stdout?.on("data", (d: Buffer) => out.push(d.toString()));
  child.stderr?.on("data", (d: Buffer) => out.push(d.toString()));
  await answering(child, `http://127.0.0.1:${port}/ready`, output);
}

/** The Node home's entry in ONE process (tsx as a loader), so the signal reaches the server itself. */
async function start(name: string, extra: Record<string, string> = {}) {
  const { port, env } = await environment(name, extra);
  const child = spawn(process.execPath, ["--import", "tsx", "src/platform/node/main.ts"], { env });
  children.push(child);
  const out: string[] = [];
  await ready(child, port, out);
  return { child, port, out };
}

function exited(child: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve({ code: child.exitCode, ms: 0 });
    child.once("exit", (code) => resolve({ code, ms: performance.now() - started }));
  });
}

/** A raw HTTP/1.1 connection: what it receives, and whether the server closed it. */
function rawConnection(port: number) {
  const socket: Socket = connect(port, "127.0.0.1");
  let received = "";
  socket.on("data", (d) => {
    received += d.toString();
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  socket.on("error", () => {});
  return { socket, opened, closed, received: () => received };
}

const signupBody = (email: string) =>
  JSON.stringify({ email, password: "correct horse battery staple" });

async function until(check: () => boolean, what: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("graceful shutdown (Node home)", () => {
  it("on SIGTERM finishes the request in flight, closes idle connections, refuses new ones and exits 0", async () => {
    const { child, port, out } = await start("graceful");

    // An idle keep-alive connection: one request answered, the socket left open.
    const idle = rawConnection(port);
    await idle.opened;
    idle.socket.write("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n");
    await until(() => idle.received().includes("\r\n\r\n"), "the idle connection's answer");

    // A request in flight: headers and half of the body sent.
    const body = signupBody("in-flight@example.com");
    const half = Math.floor(body.length / 2);
    const busy = rawConnection(port);
    await busy.opened;
    busy.socket.write(
      `POST /api/auth/signup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
    );
    await new Promise((r) => setTimeout(r, 300));

    const exit = exited(child);
    child.kill("SIGTERM");
    // The idle connection is closed at once; a new connection is refused.
    await idle.closed;
    await until(() => out.join("").includes('"shutting down"'), "the shutdown log line");
    const refused = await fetch(`http://127.0.0.1:${port}/health`).then(
      () => false,
      () => true,
    );
    expect(refused).toBe(true);

    // The request in flight completes and is answered.
    busy.socket.write(body.slice(half));
    await until(() => /\r\n\r\n\{/.test(busy.received()), "the in-flight answer");
    expect(busy.received()).toMatch(/^HTTP\/1\.1 201/);
    expect(busy.received()).toMatch(/in-flight@example\.com/);

    const { code } = await exit;
    expect(code).toBe(0);
    expect(out.join("")).toMatch(/"msg":"stopped"/);

    // The signed-up account was committed before the exit: a new process on the file sees it.
    const again = await start("graceful");
    const login = await fetch(`http://127.0.0.1:${again.port}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: signupBody("in-flight@example.com"),
    });
    expect(login.status).toBe(200);
    again.child.kill("SIGTERM");
    expect((await exited(again.child)).code).toBe(0);
  }, 120_000);

  it("past SHUTDOWN_GRACE_MS cuts the request still open and exits 1, saying so", async () => {
    const { child, port, out } = await start("bounded", { SHUTDOWN_GRACE_MS: "1000" });
    const stuck = rawConnection(port);
    await stuck.opened;
    // A body that never finishes arriving.
    stuck.socket.write(
      "POST /api/auth/signup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    );
    await new Promise((r) => setTimeout(r, 300));
    const exit = exited(child);
    child.kill("SIGTERM");
    const { code, ms } = await exit;
    expect(code).toBe(1);
    // Bounded: the grace period plus the time to close the database, not the client's patience.
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(30_000);
    await stuck.closed;
    expect(out.join("")).toMatch(/shutdown grace period over/);
  }, 120_000);

  it("npm start leaves no server behind when npm itself gets SIGTERM", async () => {
    const { port, env } = await environment("npm-start");
    const npm = spawn("npm", ["start"], { env, detached: true });
    children.push(npm);
    const out: string[] = [];
    await ready(npm, port, out);
    const exit = exited(npm);
    npm.kill("SIGTERM");
    await exit;
    // Whatever npm started (the build, then node) stops with it: the port stops answering.
    await until(() => out.join("").includes('"stopped"'), "the server's stopped line", 30_000);
    const deadline = Date.now() + 30_000;
    let answering = true;
    while (answering && Date.now() < deadline) {
      answering = await fetch(`http://127.0.0.1:${port}/health`).then(
        () => true,
        () => false,
      );
      if (answering) await new Promise((r) => setTimeout(r, 200));
    }
    expect(answering).toBe(false);
    // Nothing of the process group is left (kill(0) probes without signalling). A helper process
    // (esbuild's service) exits once its parent's pipe closes, which takes a moment under load:
    // an orphan would stay for good, so waiting up to 15 s still catches one.
    const groupAlive = () => {
      try {
        process.kill(-npm.pid!, 0);
        return true;
      } catch {
        return false;
      }
    };
    const gone = Date.now() + 15_000;
    while (groupAlive() && Date.now() < gone) await new Promise((r) => setTimeout(r, 200));
    expect(groupAlive()).toBe(false);
  }, 120_000);
});
