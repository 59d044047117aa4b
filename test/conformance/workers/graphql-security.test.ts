import { defineGraphQLSecuritySuite } from "../graphql-security.suite";
import { makeWorkersHome } from "../workers-home";

defineGraphQLSecuritySuite(makeWorkersHome);
