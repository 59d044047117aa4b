import { defineGeneratedRequestsSuite } from "../generated.suite";
import { makeNodeHome } from "../node-home";

defineGeneratedRequestsSuite(makeNodeHome);
