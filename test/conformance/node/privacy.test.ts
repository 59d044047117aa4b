import { makeNodeHome } from "../node-home";
import { definePrivacySuite } from "../privacy.suite";

definePrivacySuite(makeNodeHome);
