import { defineOtpSuite } from "../otp.suite";
import { makeWorkersHome } from "../workers-home";

defineOtpSuite(makeWorkersHome);
