import { defineGeneratedRequestsSuite } from "../generated.suite";
import { makeWorkersHome } from "../workers-home";

defineGeneratedRequestsSuite(makeWorkersHome);
