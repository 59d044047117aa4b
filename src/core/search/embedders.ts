import type { SecretStore } from "../kernel/ports";
import type { EmbedderSource } from "./embed";
import { type Embedder, openAiEmbedder } from "./embedder";

/**
 * The configured embedders: "default" is the OpenAI-compatible endpoint at EMBEDDINGS_URL
 * (with EMBEDDINGS_API_KEY and EMBEDDINGS_MODEL, default text-embedding-3-small), read from the
 * home's secret store (Workers secrets/vars, the Node environment). Undefined when unset.
 */
export function embeddersFromSecrets(secrets: SecretStore): EmbedderSource {
  let made: { key: string; embedder: Embedder } | undefined;
  return async (name) => {
    if (name !== "default") return undefined;
    const url = await secrets.get("EMBEDDINGS_URL");
    if (url === undefined || url === "") return undefined;
    const apiKey = await secrets.get("EMBEDDINGS_API_KEY");
    const model = (await secrets.get("EMBEDDINGS_MODEL")) || "text-embedding-3-small";
    const key = `${url}\n${model}\n${apiKey ?? ""}`;
    if (made?.key !== key) made = { key, embedder: openAiEmbedder({ url, apiKey, model }) };
    return made.embedder;
  };
}
