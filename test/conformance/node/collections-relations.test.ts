import { defineCollectionsRelationsSuite } from "../collections-relations.suite";
import { makeNodeHome } from "../node-home";

defineCollectionsRelationsSuite(makeNodeHome);
