import { defineCollectionsSecuritySuite } from "../collections-security.suite";
import { makeWorkersHome } from "../workers-home";

defineCollectionsSecuritySuite(makeWorkersHome);
