import { afterAll } from "vitest";
import { startLoopbackFakes } from "../loopback-fakes";
import { makeNodeHome } from "../node-home";
import { defineTotpSuite } from "../totp.suite";

let fakes: ReturnType<typeof startLoopbackFakes> | undefined;
defineTotpSuite(makeNodeHome, async () => {
  fakes ??= startLoopbackFakes();
  return (await fakes).base;
});
afterAll(async () => (await fakes)?.close());
