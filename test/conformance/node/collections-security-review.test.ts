import { defineCollectionsSecurityReviewSuite } from "../collections-security-review.suite";
import { makeNodeHome } from "../node-home";

defineCollectionsSecurityReviewSuite(makeNodeHome);
