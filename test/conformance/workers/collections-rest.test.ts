import { defineCollectionsRestSuite } from "../collections-rest.suite";
import { makeWorkersHome } from "../workers-home";

defineCollectionsRestSuite(makeWorkersHome);
