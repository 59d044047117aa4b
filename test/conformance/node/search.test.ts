import { afterAll, beforeAll } from "vitest";
import { startTestEmbedder, type TestEmbedder } from "../../search-embedder";
import { makeNodeHome } from "../node-home";
import { defineSearchSuite, type SuiteEmbedder } from "../search.suite";

let embedder: TestEmbedder;
const handle: SuiteEmbedder = { url: "" };
beforeAll(async () => {
  embedder = await startTestEmbedder();
  handle.url = embedder.url;
});
afterAll(() => embedder?.close());

defineSearchSuite(makeNodeHome, handle);
