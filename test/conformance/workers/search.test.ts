import { inject } from "vitest";
import { defineSearchSuite } from "../search.suite";
import { makeWorkersHome } from "../workers-home";

defineSearchSuite(makeWorkersHome, { url: inject("searchEmbedderUrl") });
