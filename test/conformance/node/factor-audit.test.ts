import { defineFactorAuditSuite } from "../factor-audit.suite";
import { makeNodeHome } from "../node-home";

defineFactorAuditSuite(makeNodeHome);
