import { defineCollectionsFuzzSuite } from "../collections-fuzz.suite";
import { makeNodeHome } from "../node-home";

defineCollectionsFuzzSuite(makeNodeHome);
