import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../processes";

// `npm run dev` (scripts/dev.ts) as a developer runs it: npm leading its own process group, as a
// shell starts it. A taken port is one line naming the variable; SIGTERM to npm leaves nothing
// holding a port (it used to orphan wrangler, workerd and esbuild, and the dev script itself).

const dir = mkdtempSync(join(tmpdir(), "nearbase-dev-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const listening = (port: number) =>
  new Promise<boolean>((ok) => {
    const s = createServer();
    s.once("error", () => ok(true));
    s.listen(port, "127.0.0.1", () => s.close(() => ok(false)));
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function dev(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = "";
  const child = spawn("npm", ["run", "--silent", "dev"], {
    env: { ...process.env, DEV_DB_PATH: join(dir, "dev.db"), ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // npm leads a process group, as in a terminal
  });
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  return { child, output: () => output };
}
const exited = (child: ChildProcess) =>
  new Promise<number | null>((ok) =>
    child.exitCode !== null ? ok(child.exitCode) : child.once("exit", (code) => ok(code)),
  );

describe("npm run dev", () => {
  it("refuses a taken port in one line naming the variable, before starting anything", async () => {
    const held: Server = createServer();
    const port = await new Promise<number>((ok) =>
      held.listen(0, "127.0.0.1", () => ok((held.address() as { port: number }).port)),
    );
    try {
      for (const name of ["PORT", "INSPECTOR_PORT", "LIBSQL_PORT"]) {
        const run = dev({ PORT: String(await freePort()), [name]: String(port) });
        expect(await exited(run.child), name).toBe(1);
        const lines = run.output().trim().split("\n");
        expect(lines, name).toEqual([
          `nearbase dev: port ${port} is in use (${name}); stop what holds it or set ${name}=<another port>`,
        ]);
      }
    } finally {
      held.close();
    }
  }, 60_000);

  it("SIGTERM to npm stops everything it started: no port stays held", async () => {
    const [port, inspector, libsql] = [await freePort(), await freePort(), await freePort()];
    const run = dev({
      PORT: String(port),
      INSPECTOR_PORT: String(inspector),
      LIBSQL_PORT: String(libsql),
    });
    try {
      for (let i = 0; i < 240 && !run.output().includes("nearbase dev: ready:"); i++)
        await sleep(250);
      expect(run.output()).toContain(`nearbase dev: ready: http://127.0.0.1:${port}`);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      expect(await listening(libsql)).toBe(true);

      process.kill(run.child.pid!, "SIGTERM"); // npm alone, not its group
      const held = async () =>
        (await Promise.all([port, inspector, libsql].map(listening))).some(Boolean);
      for (let i = 0; i < 60 && (await held()); i++) await sleep(250);
      expect(await held()).toBe(false);
    } finally {
      // Whatever the outcome, leave nothing behind.
      try {
        process.kill(-run.child.pid!, "SIGKILL");
      } catch {}
    }
  }, 120_000);
});
