import { defineEdgeSuite } from "../edge.suite";
import { makeWorkersHome } from "../workers-home";

defineEdgeSuite(makeWorkersHome);
