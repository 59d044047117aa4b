import { defineDocsSuite } from "../docs.suite";
import { makeNodeHome } from "../node-home";

defineDocsSuite(makeNodeHome);
