/**
 * The embedder port: texts in, one vector per text out, in order. `purpose` lets models that
 * embed queries and documents differently (bge, e5) be told which; OpenAI's ignore it.
 */
export interface Embedder {
  readonly name: string;
  embed(texts: string[], purpose: "document" | "query"): Promise<number[][]>;
}

/** What embedding cost so far in this process/isolate (the job reports it per run too). */
export const embedderUsage = { requests: 0, texts: 0, tokens: 0, retries: 0, failures: 0 };

export class EmbedderError extends Error {
  constructor(
    message: string,
    /** Worth trying again later (timeouts, 429, 5xx), as opposed to a refused request. */
    readonly transient: boolean,
  ) {
    super(message);
    this.name = "EmbedderError";
  }
}

export interface OpenAiEmbedderOptions {
  /** Base URL ending before /embeddings, e.g. https://api.openai.com/v1. */
  url: string;
  apiKey?: string;
  model: string;
  /** Per attempt. */
  timeoutMs?: number;
  attempts?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Any OpenAI-compatible `POST <url>/embeddings` (OpenAI, Azure-style gateways, Ollama, vLLM,
 * TEI, LM Studio): the batch in one request, retried with exponential backoff (Retry-After
 * honoured up to 10 s) on timeouts, network errors, 429 and 5xx; other answers fail at once.
 * The key goes in the Authorization header only and never into errors or logs.
 */
export function openAiEmbedder(options: OpenAiEmbedderOptions): Embedder {
  const endpoint = `${options.url.replace(/\/+$/, "")}/embeddings`;
  const attempts = options.attempts ?? 3;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const sleep = options.sleep ?? pause;
  async function once(texts: string[]): Promise<number[][]> {
    let res: Response;
    try {
      res = await doFetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        },
        body: JSON.stringify({ model: options.model, input: texts, encoding_format: "float" }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new EmbedderError(`embedder unreachable: ${(err as Error).name}`, true);
    }
    if (!res.ok) {
      await res.body?.cancel();
      const transient = res.status === 429 || res.status >= 500;
      const error = new EmbedderError(`embedder answered ${res.status}`, transient);
      const after = Number(res.headers.get("retry-after"));
      (error as { retryAfterMs?: number }).retryAfterMs =
        Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 10_000) : undefined;
      throw error;
    }
    const body = (await res.json().catch(() => undefined)) as
      | { data?: { embedding?: unknown; index?: number }[]; usage?: { total_tokens?: number } }
      | undefined;
    const data = body?.data;
    if (!Array.isArray(data) || data.length !== texts.length)
      throw new EmbedderError("embedder answered without one embedding per input", false);
    const vectors: number[][] = new Array(texts.length);
    data.forEach((item, i) => {
      const v = item.embedding;
      if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isFinite(x)))
        throw new EmbedderError("embedder answered a non-numeric embedding", false);
      vectors[typeof item.index === "number" ? item.index : i] = v as number[];
    });
    embedderUsage.tokens += body?.usage?.total_tokens ?? 0;
    return vectors;
  }
  return {
    name: options.model,
    async embed(texts) {
      if (texts.length === 0) return [];
      embedderUsage.requests++;
      embedderUsage.texts += texts.length;
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(texts);
        } catch (err) {
          const e = err as EmbedderError & { retryAfterMs?: number };
          if (!e.transient || attempt >= attempts) {
            embedderUsage.failures++;
            throw err;
          }
          embedderUsage.retries++;
          await sleep(e.retryAfterMs ?? 250 * 2 ** (attempt - 1));
        }
      }
    },
  };
}
