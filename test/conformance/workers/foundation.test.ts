import { defineFoundationSuite } from "../foundation.suite";
import { makeWorkersHome } from "../workers-home";

defineFoundationSuite(makeWorkersHome);
