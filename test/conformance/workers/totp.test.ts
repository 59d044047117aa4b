import { defineTotpSuite } from "../totp.suite";
import { makeWorkersHome } from "../workers-home";

defineTotpSuite(makeWorkersHome);
