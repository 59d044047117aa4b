import { defineCollectionsFuzzSuite } from "../collections-fuzz.suite";
import { makeWorkersHome } from "../workers-home";

defineCollectionsFuzzSuite(makeWorkersHome);
