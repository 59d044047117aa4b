import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";

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
