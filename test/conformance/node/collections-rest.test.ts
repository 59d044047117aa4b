import { defineCollectionsRestSuite } from "../collections-rest.suite";
import { makeNodeHome } from "../node-home";

defineCollectionsRestSuite(makeNodeHome);
