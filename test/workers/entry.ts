import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/platform/workers/main";

/**
 * A GET through the Worker's real entry (src/platform/workers/main.ts) with the given bindings,
 * its waitUntil work settled before the answer is returned.
 */
export async function callWorker(path: string, bindings: Env): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`https://nearbase.test${path}`) as Parameters<typeof worker.fetch>[0],
    bindings,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}
