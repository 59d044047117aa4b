import { makeNodeHome } from "../node-home";
import { defineSecurityAuthSuite } from "../security-auth.suite";

defineSecurityAuthSuite(makeNodeHome);
