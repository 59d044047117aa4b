import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

/** A server under test, started as its own process on loopback. */
export interface Target {
  name: string;
  url: string;
  /** Processes whose memory counts for this target (e.g. workerd and the libSQL server). */
  pids(): number[];
  /** Milliseconds from spawn to the first 200 on the ready path. */
  startupMs: number;
  stop(): Promise<void>;
}

/** Resident and peak memory (KiB) of a process and its children, from /proc. */
export function memoryKiB(pid: number): { rss: number; peak: number } {
  const ids = [pid, ...descendants(pid)];
  let rss = 0;
  let peak = 0;
  for (const id of ids) {
    try {
      const status = readFileSync(`/proc/${id}/status`, "utf8");
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // The process ended between listing and reading.
    }
  }
  return { rss, peak };
}

const clockTicksPerSecond = 100;

/**
 * CPU time (user + system, ms) the process tree under `pid` has used so far: each live process's
 * own time plus what its reaped children used (cutime/cstime), from /proc/<pid>/stat.
 */
export function cpuTimeMs(pid: number): number {
  let ticks = 0;
  for (const id of [pid, ...descendants(pid)]) {
    try {
      const stat = readFileSync(`/proc/${id}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) start at field 3.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // The process ended between listing and reading.
    }
  }
  return (ticks * 1000) / clockTicksPerSecond;
}

function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

/** Starts `command`, waits until `readyUrl` answers 200, and returns a handle to stop it. */
export async function startProcess(
  name: string,
  command: string,
  args: string[],
  options: {
    env: Record<string, string>;
    url: string;
    readyPath: string;
    timeoutMs?: number;
    cwd?: string;
    /** How often readiness is polled (startup is measured to this resolution). */
    pollMs?: number;
  },
): Promise<Target> {
  const spawned = performance.now();
  const child: ChildProcess = spawn(command, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited early (${child.exitCode}):\n${stderr}`);
    try {
      const res = await fetch(options.url + options.readyPath);
      if (res.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      process.kill(-child.pid!, "SIGKILL");
      throw new Error(`${name} did not become ready:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
  }
  const startupMs = performance.now() - spawned;
  return {
    name,
    url: options.url,
    startupMs,
    pids: () => [child.pid!],
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(-child.pid!, "SIGTERM");
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {}
      }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const schedstat = existsSync(`/proc/${process.pid}/schedstat`);
let ticksPerSecond: number | undefined;

/**
 * CPU time of ONE process in ms, precise enough for a single request: the sum of its threads'
 * time on CPU from /proc/<pid>/task/*\/schedstat (nanoseconds), where the kernel has schedstats;
 * else utime + stime from /proc/<pid>/stat (clock ticks, 10 ms here — too coarse for one request).
 */
export function processCpuMs(pid: number): number {
  if (schedstat) {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return ns / 1e6;
  }
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}
