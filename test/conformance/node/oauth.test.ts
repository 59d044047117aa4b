import { afterAll } from "vitest";
import { startLoopbackFakes } from "../loopback-fakes";
import { makeNodeHome } from "../node-home";
import { defineOAuthSuite } from "../oauth.suite";

let fakes: ReturnType<typeof startLoopbackFakes> | undefined;
defineOAuthSuite(makeNodeHome, async () => {
  fakes ??= startLoopbackFakes();
  return (await fakes).base;
});
afterAll(async () => (await fakes)?.close());
