import { afterAll, beforeAll } from "vitest";
import { startTestEmbedder, type TestEmbedder } from "../../search-embedder";
import { defineGraphQLSearchSuite } from "../graphql-search.suite";
import { makeNodeHome } from "../node-home";
import type { SuiteEmbedder } from "../search.suite";

let embedder: TestEmbedder;
const handle: SuiteEmbedder = { url: "" };
beforeAll(async () => {
  embedder = await startTestEmbedder();
  handle.url = embedder.url;
});
afterAll(() => embedder?.close());

defineGraphQLSearchSuite(makeNodeHome, handle);
