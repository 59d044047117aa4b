import { defineObservabilitySuite } from "../observability.suite";
import { makeWorkersHome } from "../workers-home";

defineObservabilitySuite(makeWorkersHome);
