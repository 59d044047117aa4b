import { defineCollectionsSecuritySuite } from "../collections-security.suite";
import { makeNodeHome } from "../node-home";

defineCollectionsSecuritySuite(makeNodeHome);
