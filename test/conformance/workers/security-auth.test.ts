import { defineSecurityAuthSuite } from "../security-auth.suite";
import { makeWorkersHome } from "../workers-home";

defineSecurityAuthSuite(makeWorkersHome);
