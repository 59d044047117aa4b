import { definePrivacySuite } from "../privacy.suite";
import { makeWorkersHome } from "../workers-home";

definePrivacySuite(makeWorkersHome);
