import { defineAuthSuite } from "../auth.suite";
import { makeWorkersHome } from "../workers-home";

defineAuthSuite(makeWorkersHome);
