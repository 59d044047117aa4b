import { defineCollectionsRelationsSuite } from "../collections-relations.suite";
import { makeWorkersHome } from "../workers-home";

defineCollectionsRelationsSuite(makeWorkersHome);
