import { afterAll } from "vitest";
import { startLoopbackFakes } from "../loopback-fakes";
import { makeNodeHome } from "../node-home";
import { defineOAuthProvidersSuite } from "../oauth-providers.suite";

let fakes: ReturnType<typeof startLoopbackFakes> | undefined;
defineOAuthProvidersSuite(makeNodeHome, async () => {
  fakes ??= startLoopbackFakes();
  return (await fakes).base;
});
afterAll(async () => (await fakes)?.close());
