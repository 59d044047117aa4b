import { defineFactorAuditSuite } from "../factor-audit.suite";
import { makeWorkersHome } from "../workers-home";

defineFactorAuditSuite(makeWorkersHome);
