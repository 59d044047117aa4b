import { defineContractSuite } from "../contract.suite";
import { makeWorkersHome } from "../workers-home";

defineContractSuite(makeWorkersHome);
