import { makeNodeHome } from "../node-home";
import { defineTotpSuite } from "../totp.suite";

defineTotpSuite(makeNodeHome);
