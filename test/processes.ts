import { type ChildProcess, execFile } from "node:child_process";
import { createServer } from "node:net";
import { promisify } from "node:util";

/**
 * For tests that run Nearbase (or a tool) as a real process on loopback: a port nothing listens
 * on now, and a wait for the process to answer.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

/**
 * Resolves once `url` answers 200; throws with the process's output if it exits first or does
 * not answer within `timeoutMs` (generous: a loaded 2-core machine starts tsx slowly).
 */
export async function answering(
  child: ChildProcess,
  url: string,
  output: () => string,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`process exited (${child.exitCode ?? child.signalCode}): ${output()}`);
    if (
      await fetch(url).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200: ${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Collects a child's stdout and stderr (as text, in order). */
export function collectOutput(child: ChildProcess): () => string {
  const chunks: string[] = [];
  child.stdout?.on("data", (d: Buffer) => chunks.push(d.toString()));
  child.stderr?.on("data", (d: Buffer) => chunks.push(d.toString()));
  return () => chunks.join("");
}

/**
 * Runs `scripts/<name>.ts` (through tsx) with ONLY the given environment (plus PATH/HOME), never
 * throwing: its exit code and its output (stdout then stderr).
 */
export async function runScript(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      "npx",
      ["tsx", `scripts/${name}.ts`, ...args],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          ...env,
        } as unknown as NodeJS.ProcessEnv,
      },
    );
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}
