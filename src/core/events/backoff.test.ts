import { describe, expect, it } from "vitest";
import { retryDelayMs } from "./backoff";

describe("retry backoff (full jitter)", () => {
  const options = { baseMs: 1000, capMs: 60_000 };
  it("waits between zero and the exponential ceiling, capped", () => {
    expect(retryDelayMs(1, options, () => 0.999)).toBe(999);
    expect(retryDelayMs(3, options, () => 0.999)).toBe(3996);
    expect(retryDelayMs(20, options, () => 0.999)).toBe(59_940);
    expect(retryDelayMs(5, options, () => 0)).toBe(0);
  });
  it("spreads retries over the whole window", () => {
    const delays = Array.from({ length: 200 }, () => retryDelayMs(4, options));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(8000);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });
});
