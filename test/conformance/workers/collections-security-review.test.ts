import { defineCollectionsSecurityReviewSuite } from "../collections-security-review.suite";
import { makeWorkersHome } from "../workers-home";

defineCollectionsSecurityReviewSuite(makeWorkersHome);
