import { defineEdgeSuite } from "../edge.suite";
import { makeNodeHome } from "../node-home";

defineEdgeSuite(makeNodeHome);
