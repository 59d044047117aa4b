import type { SecretStore } from "../kernel/ports";
import type { EmbedderSource } from "./embed";
import { type Embedder, EmbedderError, openAiEmbedder } from "./embedder";
import { defaultWorkersAiModel, isWorkersAiBinding, workersAiEmbedder } from "./workers-ai";

/**
 * Where the embedders' settings come from: the home's secret store, and on Workers its
 * non-string bindings too (`binding(name)`: the Workers AI binding), which the Node home has not.
 */
export type EmbedderSettings = SecretStore & { binding?(name: string): unknown };

/**
 * The configured embedders. "default" is either the Workers AI binding named by
 * EMBEDDINGS_WORKERS_AI (Workers home; EMBEDDINGS_MODEL, default @cf/baai/bge-small-en-v1.5) or
 * the OpenAI-compatible endpoint at EMBEDDINGS_URL (with EMBEDDINGS_API_KEY and EMBEDDINGS_MODEL,
 * default text-embedding-3-small), read from the home's settings (Workers bindings/secrets, the
 * Node environment); src/config.ts checks at start that at most one is set and that a named
 * binding exists. Undefined when neither is set.
 */
export function embeddersFromSecrets(settings: EmbedderSettings): EmbedderSource {
  let made: { key: string; embedder: Embedder } | undefined;
  return async (name) => {
    if (name !== "default") return undefined;
    const binding = await settings.get("EMBEDDINGS_WORKERS_AI");
    if (binding !== undefined && binding !== "") {
      const model = (await settings.get("EMBEDDINGS_MODEL")) || defaultWorkersAiModel;
      const ai = settings.binding?.(binding);
      const key = `ai\n${binding}\n${model}`;
      if (made?.key !== key || !isWorkersAiBinding(ai)) {
        made = {
          key,
          embedder: isWorkersAiBinding(ai)
            ? workersAiEmbedder({ ai, model })
            : unavailable(model, `EMBEDDINGS_WORKERS_AI names ${binding}, which is not bound`),
        };
      }
      return made.embedder;
    }
    const url = await settings.get("EMBEDDINGS_URL");
    if (url === undefined || url === "") return undefined;
    const apiKey = await settings.get("EMBEDDINGS_API_KEY");
    const model = (await settings.get("EMBEDDINGS_MODEL")) || "text-embedding-3-small";
    const key = `${url}\n${model}\n${apiKey ?? ""}`;
    if (made?.key !== key) made = { key, embedder: openAiEmbedder({ url, apiKey, model }) };
    return made.embedder;
  };
}

/** A configured embedder that cannot run (the start check makes this unreachable in the app). */
function unavailable(name: string, why: string): Embedder {
  return {
    name,
    embed: async () => {
      throw new EmbedderError(why, false);
    },
  };
}
