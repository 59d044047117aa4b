import { defineConfig } from "vitest/config";

// Browser end-to-end tests (npm run test:e2e): real Chromium driven by playwright-core against a
// real server. Kept out of `npm test` (they need Chromium; .ci/run installs it and runs both).
export default defineConfig({
  test: {
    name: "e2e",
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One browser at a time on a shared 2-core machine.
    fileParallelism: false,
  },
});
