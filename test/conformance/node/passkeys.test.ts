import { makeNodeHome } from "../node-home";
import { definePasskeySuite } from "../passkeys.suite";

definePasskeySuite(makeNodeHome);
