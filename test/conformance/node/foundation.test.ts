import { defineFoundationSuite } from "../foundation.suite";
import { makeNodeHome } from "../node-home";

defineFoundationSuite(makeNodeHome);
