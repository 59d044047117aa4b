import { type Embedder, EmbedderError, embedderUsage } from "./embedder";

/**
 * The Workers AI binding (`[ai] binding = "AI"` in wrangler.toml), as far as text embeddings go:
 * `run(model, { text: [...] }, { signal })` answers `{ shape: [n, dims], data: number[][],
 * pooling }` and throws an Error whose message starts with Workers AI's internal code
 * ("3040: …", see developers.cloudflare.com/workers-ai/platform/errors).
 */
export interface WorkersAiBinding {
  run(
    model: string,
    inputs: { text: string[] },
    options?: { signal?: AbortSignal },
  ): Promise<unknown>;
}

/** Is `value` something that can be called like the Workers AI binding? */
export function isWorkersAiBinding(value: unknown): value is WorkersAiBinding {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { run?: unknown }).run === "function"
  );
}

/** The default Workers AI embedding model: 384 dimensions, as the notes collection declares. */
export const defaultWorkersAiModel = "@cf/baai/bge-small-en-v1.5";

/** Output size of the Workers AI text-embedding models (developers.cloudflare.com/workers-ai/models). */
export const workersAiDimensions: Readonly<Record<string, number>> = {
  "@cf/baai/bge-small-en-v1.5": 384,
  "@cf/baai/bge-base-en-v1.5": 768,
  "@cf/baai/bge-large-en-v1.5": 1024,
  "@cf/baai/bge-m3": 1024,
};

/** Texts per `run` call: the bge models take at most 100 (larger batches are split). */
export const workersAiMaxBatch = 100;

/**
 * Workers AI's codes for a request that will fail the same way again (no such model, invalid
 * input, account or model not allowed, request too large, …). Everything else — capacity (3040),
 * timeouts (3007), the daily allocation (3036), internal and network errors — is transient.
 */
const permanentCodes = new Set([
  3003, 3006, 3023, 3039, 3041, 3042, 5004, 5005, 5006, 5007, 5016, 5018, 5019,
]);
/** Transient, but not worth retrying within seconds: the account's daily allocation is spent. */
const allocationSpent = 3036;

export interface WorkersAiEmbedderOptions {
  ai: WorkersAiBinding;
  model: string;
  /** Expected vector size; defaults to the model's (workersAiDimensions), else not checked here. */
  dimensions?: number;
  batchSize?: number;
  /** Per call. */
  timeoutMs?: number;
  /** Tries per batch for transient errors (backoff 250 ms, 500 ms, …). */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The Workers AI error code at the start of a message ("InferenceUpstreamError: 3040: …"). */
function codeOf(err: unknown): number | undefined {
  const match = /(?:^|:\s*)(\d{4})\s*:/.exec(err instanceof Error ? err.message : String(err));
  return match === null ? undefined : Number(match[1]);
}

/**
 * Embeds through the Workers AI binding: texts in batches of at most `batchSize` (100), one
 * `run` per batch, in order. Each call is bounded by `timeoutMs` (an AbortSignal for the binding,
 * and a timer in case it ignores it); transient failures are retried with backoff, permanent
 * ones (an unknown model, refused input) fail at once. Every answer is checked: one vector per
 * text, every one of the model's size, finite numbers, `shape` matching when present. Errors
 * carry Workers AI's code and name, never the texts.
 */
export function workersAiEmbedder(options: WorkersAiEmbedderOptions): Embedder {
  const batchSize = Math.min(options.batchSize ?? workersAiMaxBatch, workersAiMaxBatch);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const attempts = options.attempts ?? 3;
  const sleep = options.sleep ?? pause;
  const dimensions = options.dimensions ?? workersAiDimensions[options.model];

  async function once(texts: string[]): Promise<number[][]> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new EmbedderError(`Workers AI did not answer within ${timeoutMs} ms`, true));
      }, timeoutMs);
    });
    let out: unknown;
    try {
      out = await Promise.race([
        options.ai.run(options.model, { text: texts }, { signal: controller.signal }),
        timedOut,
      ]);
    } catch (err) {
      if (err instanceof EmbedderError) throw err;
      const code = codeOf(err);
      const name = err instanceof Error ? err.name : "Error";
      const error = new EmbedderError(
        `Workers AI failed (${name}${code === undefined ? "" : ` ${code}`})`,
        code === undefined || !permanentCodes.has(code),
      );
      (error as { retryNow?: boolean }).retryNow = code !== allocationSpent;
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const body = out as { data?: unknown; shape?: unknown; request_id?: unknown } | undefined;
    if (body !== undefined && typeof body === "object" && "request_id" in body)
      throw new EmbedderError("Workers AI queued the request instead of answering it", false);
    const data = body?.data;
    if (!Array.isArray(data) || data.length !== texts.length)
      throw new EmbedderError("Workers AI answered without one embedding per input", false);
    const size = dimensions ?? (data[0] as unknown[] | undefined)?.length;
    for (const v of data) {
      if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isFinite(x)))
        throw new EmbedderError("Workers AI answered a non-numeric embedding", false);
      if (v.length !== size)
        throw new EmbedderError(
          `Workers AI answered ${v.length} dimensions, ${options.model} has ${size}`,
          false,
        );
    }
    const shape = body?.shape;
    if (Array.isArray(shape) && (shape[0] !== texts.length || shape[1] !== size))
      throw new EmbedderError("Workers AI answered a shape that does not match its data", false);
    return data as number[][];
  }

  async function batch(texts: string[]): Promise<number[][]> {
    embedderUsage.requests++;
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(texts);
      } catch (err) {
        const e = err as EmbedderError & { retryNow?: boolean };
        if (!e.transient || e.retryNow === false || attempt >= attempts) {
          embedderUsage.failures++;
          throw err;
        }
        embedderUsage.retries++;
        await sleep(250 * 2 ** (attempt - 1));
      }
    }
  }

  return {
    name: options.model,
    async embed(texts) {
      if (texts.length === 0) return [];
      embedderUsage.texts += texts.length;
      const out: number[][] = [];
      for (let from = 0; from < texts.length; from += batchSize)
        out.push(...(await batch(texts.slice(from, from + batchSize))));
      return out;
    },
  };
}
