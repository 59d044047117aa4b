import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Shared by the reliability tests (test/node/reliability*.test.ts), `npm run soak` and
 * `npm run chaos`: a real Node home as a child process on loopback, and the few API calls a
 * workload needs. Everything here talks HTTP to 127.0.0.1 only.
 */

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface NodeHome {
  base: string;
  port: number;
  child: ChildProcess;
  /** Everything the process printed (stdout and stderr). */
  out: string[];
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | NodeJS.Signals | null>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
}

/** Settings every load or fault run wants: fast hashes, no rate limits, quiet logs. */
export const loadTestEnv: Record<string, string> = {
  PASSWORD_ITERATIONS: "10000",
  RATE_LIMIT_READ: "off",
  RATE_LIMIT_WRITE: "off",
  RATE_LIMIT_AUTH: "off",
  CREDENTIAL_FAILURE_LIMIT: "off",
  LOGIN_LIMIT_PER_ACCOUNT: "100000/1m",
  LOGIN_LIMIT_PER_ACCOUNT_TOTAL: "100000/1m",
  LOG_LEVEL: "warn",
  WEBHOOK_SECRET_KEY: "reliability-webhook-key-0123456789abcdef",
  WEBHOOK_ALLOW_LOOPBACK: "true",
  WEBHOOK_RETRY_BASE_MS: "200",
  WEBHOOK_RETRY_CAP_MS: "2000",
  WEBHOOK_MAX_ATTEMPTS: "100",
  DISPATCH_POLL_MS: "200",
};

/**
 * Starts `src/platform/node/main.ts` (through tsx, as `npm start` does) with `env` on a free
 * port and waits for /ready. `port` reuses an address (a restart after a crash).
 */
export async function startNodeHome(
  env: Record<string, string>,
  options: { port?: number; readyTimeoutMs?: number; script?: string[] } = {},
): Promise<NodeHome> {
  const port = options.port ?? (await freePort());
  const out: string[] = [];
  const child = spawn(
    process.execPath,
    options.script ?? ["--import", "tsx", "src/platform/node/main.ts"],
    {
      env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout?.on("data", (d: Buffer) => out.push(d.toString()));
  child.stderr?.on("data", (d: Buffer) => out.push(d.toString()));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal)),
  );
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the Node home exited before it was ready:\n${out.join("")}`);
    const ready = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(5000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the Node home was not ready in time:\n${out.join("")}`);
    }
    await sleep(100);
  }
  return {
    base,
    port,
    child,
    out,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Session {
  userId: string;
  accessToken: string;
  email: string;
  password: string;
}

/** Signs up an account (or fails loudly). */
export async function signUp(base: string, email: string, password = "soak-passphrase-123") {
  const res = await fetch(`${base}/api/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 201 && res.status !== 200)
    throw new Error(`sign-up ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { accessToken: string; user: { id: string } };
  return { userId: body.user.id, accessToken: body.accessToken, email, password } as Session;
}

export async function logIn(base: string, email: string, password: string) {
  const res = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`log-in ${res.status}: ${await res.text()}`);
  return (await res.json()) as { accessToken: string; user: { id: string } };
}

/** Open file descriptors of a process (Linux /proc). */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, "utf8").split(" ");
    return Number(statm[1]) * 4096;
  } catch {
    return Number.NaN;
  }
}

/** Percentile of a list of numbers (nearest rank); NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
