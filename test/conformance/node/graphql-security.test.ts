import { defineGraphQLSecuritySuite } from "../graphql-security.suite";
import { makeNodeHome } from "../node-home";

defineGraphQLSecuritySuite(makeNodeHome);
