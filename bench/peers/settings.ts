/**
 * Nearbase's fair benchmark settings (the peer benchmark and the profiler): no rate limits, no
 * request logging. Totals stay off unless a scenario asks, as in every target.
 */
export const nearbaseBenchEnv = {
  RATE_LIMIT_READ: "off",
  RATE_LIMIT_WRITE: "off",
  RATE_LIMIT_AUTH: "off",
  LOGIN_LIMIT_PER_ACCOUNT: "999999/1m",
  LOGIN_LIMIT_PER_ACCOUNT_TOTAL: "999999/1m",
  CREDENTIAL_FAILURE_LIMIT: "off",
  LOG_LEVEL: "warn",
  LOG_SAMPLE_RATE: "0",
  HOST: "127.0.0.1",
};
