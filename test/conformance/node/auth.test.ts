import { defineAuthSuite } from "../auth.suite";
import { makeNodeHome } from "../node-home";

defineAuthSuite(makeNodeHome);
