import { defineGraphQLSuite } from "../graphql.suite";
import { makeNodeHome } from "../node-home";

defineGraphQLSuite(makeNodeHome);
