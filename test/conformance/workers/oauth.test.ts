import { inject } from "vitest";
import { defineOAuthSuite } from "../oauth.suite";
import { makeWorkersHome } from "../workers-home";

// The fake OIDC provider runs in the global setup (test/conformance/workers-global-setup.ts).
defineOAuthSuite(makeWorkersHome, async () => inject("loopbackFakesUrl"));
