import { makeNodeHome } from "../node-home";
import { defineObservabilitySuite } from "../observability.suite";

defineObservabilitySuite(makeNodeHome);
