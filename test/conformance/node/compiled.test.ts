import { vi } from "vitest";
import { defineCollectionsRestSuite } from "../collections-rest.suite";
import { makeCompiledHome } from "../compiled-home";
import { defineFoundationSuite } from "../foundation.suite";
import { defineGraphQLSuite } from "../graphql.suite";

// The production build (`npm run build` → `node dist/server.js`, issue 17) holds the same
// contract as the in-process Node home: health, problem+json errors, limits, headers, and the
// collections REST API, over a real socket — and GraphQL, whose engine the build loads from a
// chunk of its own on the first /graphql request (src/http/graphql/load-runtime.node.ts).
// Each home is a build (once per file) and a process start: seconds on a loaded 2-core machine,
// more than the default 10 s hook budget allows when the load peaks.
vi.setConfig({ hookTimeout: 60_000 });
defineFoundationSuite(makeCompiledHome);
defineCollectionsRestSuite(makeCompiledHome);
defineGraphQLSuite(makeCompiledHome);
