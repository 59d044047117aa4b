import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two homes, one suite: the Node project drives the app in-process on real embedded libSQL;
// the Workers project runs the real worker in workerd against the local libSQL HTTP server.
// The HTTP suites in test/conformance/*.suite.ts are written once and registered in both
// (test/conformance/node/ and test/conformance/workers/).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: [
            "test/node/**/*.test.ts",
            "test/conformance/node/**/*.test.ts",
            "src/**/*.test.ts",
            "tools/**/*.test.ts",
          ],
          environment: "node",
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // The Rate Limiting bindings wrangler.toml declares, made loose for suites that are
              // not about limits; TEST_LIMITER (3 a minute) is what test/workers/rate-limit.test.ts
              // hands a home as its READ_LIMITER / WRITE_LIMITER.
              ratelimits: {
                READ_LIMITER: { namespace_id: "2201", simple: { limit: 1_000_000, period: 60 } },
                WRITE_LIMITER: { namespace_id: "2202", simple: { limit: 1_000_000, period: 60 } },
                TEST_LIMITER: { namespace_id: "2299", simple: { limit: 3, period: 60 } },
              },
              bindings: {
                DATABASE_URL: inject("libsqlUrl"),
                JWT_PRIVATE_KEYS: inject("jwtKeys"),
                // A fixed test key for encrypted fields (kernel/seal.ts); never used outside tests.
                DATA_ENCRYPTION_KEYS:
                  '[{"kid":"test-workers","key":"BKNBADRfdXtUSKnsVf0SwquNMcH7MGRgwOSXitHdfDI"}]',
                LOG_LEVEL: "warn",
                // Webhooks in workerd deliver to the global setup's receiver on loopback.
                WEBHOOK_SECRET_KEY: "workers-test-webhook-key-0123456789abcdef",
                WEBHOOK_ALLOW_LOOPBACK: "true",
              },
            },
          })),
        ],
        test: {
          name: "workers",
          // The first request in a file starts workerd: seconds on a loaded 2-core machine.
          testTimeout: 30_000,
          include: ["test/workers/**/*.test.ts", "test/conformance/workers/**/*.test.ts"],
          globalSetup: [
            "test/workers/global-setup.ts",
            "test/conformance/workers-global-setup.ts",
            "test/workers/reliability-global-setup.ts",
            "test/conformance/search-global-setup.ts",
            "test/workers/openapi-global-setup.ts",
          ],
        },
      },
    ],
  },
});
