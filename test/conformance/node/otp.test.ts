import { makeNodeHome } from "../node-home";
import { defineOtpSuite } from "../otp.suite";

defineOtpSuite(makeNodeHome);
