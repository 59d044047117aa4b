import { inject } from "vitest";
import { defineGraphQLSearchSuite } from "../graphql-search.suite";
import { makeWorkersHome } from "../workers-home";

defineGraphQLSearchSuite(makeWorkersHome, { url: inject("searchEmbedderUrl") });
