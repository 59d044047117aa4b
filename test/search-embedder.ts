import { createServer, type Server, type ServerResponse } from "node:http";

/**
 * A deterministic OpenAI-compatible embedder for tests, served on loopback so the real HTTP
 * adapter is what runs: each word (lowercased letters/digits) adds ±1 at a hashed position of a
 * 384-dimension vector, normalised — texts sharing words are near. `fail` (or POST /control/fail
 * with N as the body, from another runtime) makes the next N embedding requests answer 503
 * (retries and failure handling); POST /control/hold with 1 makes embedding requests wait until
 * it is posted 0 (a test sees the state before an embedding lands); requests are counted.
 */
export const testDimensions = 384;

export function embedTest(text: string, dims = testDimensions): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let h = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193) >>> 0;
    v[h % dims]! += h & 0x10000 ? 1 : -1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => Math.fround(x / norm));
}

export interface TestEmbedder {
  url: string;
  requests: () => number;
  /** Every text embedded so far, in order (a text sent twice appears twice). */
  inputs: () => string[];
  fail(n: number): void;
  close(): Promise<void>;
}

/** Makes embedding requests to the embedder at `url` wait (true) until released (false). */
export async function holdEmbedder(url: string, hold: boolean): Promise<void> {
  const res = await fetch(new URL("/control/hold", url), {
    method: "POST",
    body: hold ? "1" : "0",
  });
  if (res.status !== 204) throw new Error(`the test embedder answered ${res.status}`);
}

/** Makes the embedder at `url` (its `/v1` base) fail its next `n` embedding requests. */
export async function failEmbedder(url: string, n: number): Promise<void> {
  const res = await fetch(new URL("/control/fail", url), { method: "POST", body: String(n) });
  if (res.status !== 204) throw new Error(`the test embedder answered ${res.status}`);
}

/** `delayMs`: how long each embedding answer takes (a slow provider). */
export async function startTestEmbedder(options: { delayMs?: number } = {}): Promise<TestEmbedder> {
  let count = 0;
  const inputs: string[] = [];
  let failing = 0;
  let held: (() => void)[] | undefined;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      // A test in another runtime (workerd) cannot call fail(): the same switch over HTTP.
      if (req.method === "POST" && req.url === "/control/fail") {
        failing = Number(body);
        res.writeHead(204).end();
        return;
      }
      if (req.method === "POST" && req.url === "/control/hold") {
        if (body === "1") held ??= [];
        else {
          const waiting = held ?? [];
          held = undefined;
          for (const go of waiting) go();
        }
        res.writeHead(204).end();
        return;
      }
      count++;
      if (req.method !== "POST" || req.url !== "/v1/embeddings") {
        res.writeHead(404).end();
        return;
      }
      const go = () => answer(body, res);
      const later = options.delayMs ? () => setTimeout(go, options.delayMs) : go;
      if (held !== undefined) held.push(later);
      else later();
    });
  });
  function answer(body: string, res: ServerResponse) {
    if (failing > 0) {
      failing--;
      res.writeHead(503, { "retry-after": "0" }).end();
      return;
    }
    const { input } = JSON.parse(body) as { input: string[] };
    inputs.push(...input);
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        object: "list",
        data: input.map((text, index) => ({
          object: "embedding",
          index,
          embedding: embedTest(text),
        })),
        usage: { prompt_tokens: input.length, total_tokens: input.length },
      }),
    );
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests: () => count,
    inputs: () => [...inputs],
    fail: (n) => {
      failing = n;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
