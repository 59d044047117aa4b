import { defineContractSuite } from "../contract.suite";
import { makeNodeHome } from "../node-home";

defineContractSuite(makeNodeHome);
