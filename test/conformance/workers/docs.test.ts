import { defineDocsSuite } from "../docs.suite";
import { makeWorkersHome } from "../workers-home";

defineDocsSuite(makeWorkersHome);
