import { inject } from "vitest";
import { defineTotpSuite } from "../totp.suite";
import { makeWorkersHome } from "../workers-home";

// The fake OIDC provider runs in the global setup (test/conformance/workers-global-setup.ts).
defineTotpSuite(makeWorkersHome, async () => inject("loopbackFakesUrl"));
