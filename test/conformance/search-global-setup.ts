import type { TestProject } from "vitest/node";
import { startTestEmbedder } from "../search-embedder";

declare module "vitest" {
  export interface ProvidedContext {
    /** The loopback OpenAI-compatible embedder (test/search-embedder.ts). */
    searchEmbedderUrl: string;
  }
}

/** Starts the deterministic embedder the search suite's Workers home embeds with. */
export default async function setup(project: TestProject) {
  const embedder = await startTestEmbedder();
  project.provide("searchEmbedderUrl", embedder.url);
  return () => embedder.close();
}
