import { definePasskeySuite } from "../passkeys.suite";
import { makeWorkersHome } from "../workers-home";

definePasskeySuite(makeWorkersHome);
