// A bare `workerd serve` for the benchmarks that measure the built worker without wrangler
// (bench:workers-cpu, bench:privacy, the Workers soak home, the profilers in bench/workers): the
// modules and a config.capnp in a temp dir of their own, one HTTP socket on loopback, outbound
// fetch to any address (the local libSQL server), text bindings, the compatibility date of
// wrangler.toml, and optionally the V8 inspector.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../../test/processes";

const root = resolve(import.meta.dirname, "../..");
const binary = join(root, "node_modules/workerd/bin/workerd");
const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(
  readFileSync(join(root, "wrangler.toml"), "utf8"),
)![1]!;

export interface WorkerdOptions {
  /** ES modules by name, in order: the first is the main module. */
  modules: Record<string, string | Uint8Array>;
  /** Text bindings (the worker's env). */
  bindings?: Record<string, string>;
  /** The HTTP port (default: a free one); a restart passes the port it had. */
  port?: number;
  /** Opens the V8 inspector on a free port (`inspectorPort`). */
  inspector?: boolean;
  /**
   * A path to GET until it answers 2xx. Without it, the wait is for the socket to accept a
   * connection, with no request sent, so the isolate stays as it started.
   */
  ready?: string;
  /** How long to wait for it (generous: the machine is shared). Default 60 s. */
  timeoutMs?: number;
}

export interface Workerd {
  /** `http://127.0.0.1:<port>` */
  base: string;
  port: number;
  /** The inspector's port, when `inspector` was asked for. */
  inspectorPort: number | undefined;
  pid: number;
  child: ChildProcess;
  /** Signals the process (SIGTERM unless told), waits for it to exit, removes its temp dir. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<{ child: ChildProcess; dir: string }>();
process.on("exit", () => {
  for (const { child, dir } of running) {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts workerd with `options` and resolves once it is ready (see `ready`). */
export async function startWorkerd(options: WorkerdOptions): Promise<Workerd> {
  const port = options.port ?? (await freePort());
  const inspectorPort = options.inspector ? await freePort() : undefined;
  const dir = mkdtempSync(join(tmpdir(), "nearbase-workerd-"));
  const names = Object.keys(options.modules);
  for (const name of names) writeFileSync(join(dir, name), options.modules[name]!);
  const modules = names
    .map((name) => `(name = ${JSON.stringify(name)}, esModule = embed ${JSON.stringify(name)})`)
    .join(",\n    ");
  const bindings = Object.entries(options.bindings ?? {})
    .map(([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`)
    .join(",\n    ");
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    ${modules}
  ],
  compatibilityDate = "${compatibilityDate}",
  globalOutbound = "net",
  bindings = [
    ${bindings}
  ],
);
`,
  );
  const args = ["serve", join(dir, "config.capnp")];
  if (inspectorPort !== undefined) args.push(`--inspector-addr=127.0.0.1:${inspectorPort}`);
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "inherit"] });
  const entry = { child, dir };
  running.add(entry);
  const base = `http://127.0.0.1:${port}`;
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (!exited(child)) {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      await gone;
    }
    running.delete(entry);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const up =
      options.ready === undefined
        ? await accepts(port)
        : await fetch(base + options.ready).then(
            async (r) => {
              await r.arrayBuffer();
              return r.ok;
            },
            () => false,
          );
    if (up) break;
    if (exited(child) || Date.now() > deadline) {
      const why = exited(child)
        ? `workerd exited (${child.exitCode ?? child.signalCode}) before it was ready`
        : `workerd was not ready at ${base}${options.ready ?? ""} in time`;
      await stop("SIGKILL");
      throw new Error(why);
    }
    await sleep(50);
  }
  return { base, port, inspectorPort, pid: child.pid!, child, stop };
}

/** Whether something accepts a TCP connection on the port (closed at once, nothing sent). */
function accepts(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      ok(true);
    });
    socket.once("error", () => ok(false));
  });
}
