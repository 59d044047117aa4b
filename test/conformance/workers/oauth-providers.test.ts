import { inject } from "vitest";
import { defineOAuthProvidersSuite } from "../oauth-providers.suite";
import { makeWorkersHome } from "../workers-home";

// The fake providers run in the global setup (test/conformance/workers-global-setup.ts).
defineOAuthProvidersSuite(makeWorkersHome, async () => inject("loopbackFakesUrl"));
