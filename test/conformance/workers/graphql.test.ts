import { defineGraphQLSuite } from "../graphql.suite";
import { makeWorkersHome } from "../workers-home";

defineGraphQLSuite(makeWorkersHome);
