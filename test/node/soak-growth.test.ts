// The soak's memory verdict (bench/soak/report.ts, judgeGrowth): operators read "monotonic growth:
// no" as "this process does not leak under load", so the rule must still fail a leak of any
// shape while letting a bounded cache fill and level off.
import { describe, expect, it } from "vitest";
import { judgeGrowth, type Sample } from "../../bench/soak/report";

const MiB = 2 ** 20;

/** Samples every 5 s for `minutes`, RSS from `rssMiB(t)` plus a garbage-collection wobble. */
function run(minutes: number, rssMiB: (seconds: number) => number): Sample[] {
  const samples: Sample[] = [];
  for (let t = 5; t <= minutes * 60; t += 5) {
    const wobble = 6 * Math.sin(t / 37) + 3 * Math.sin(t / 11);
    samples.push({
      t,
      rss: (rssMiB(t) + wobble) * MiB,
      fds: 60 + (t % 3),
      heapUsed: (60 + 8 * Math.sin(t / 23)) * MiB,
      healthMs: 1,
    });
  }
  return samples;
}

const rss = (samples: Sample[]) => judgeGrowth(samples).find((g) => g.name === "RSS (MiB)")!;

/** A cache that fills towards `bound` MiB above 200 with time constant `tau` seconds. */
const fill = (bound: number, tau: number) => (t: number) => 200 + bound * (1 - Math.exp(-t / tau));

describe("soak memory verdict", () => {
  it("fails a steady leak, in a short run and in a long one", () => {
    expect(rss(run(10, (t) => 200 + (300 * t) / 3600)).monotonic).toBe(true);
    expect(rss(run(96, (t) => 200 + (40 * t) / 3600)).monotonic).toBe(true);
  });

  it("fails a leak that goes on after a cache has filled", () => {
    // 70 MiB of cache filling in the first 40 minutes, and +40 MiB/h from then on.
    const verdict = rss(run(96, (t) => fill(70, 600)(t) + (40 * Math.max(0, t - 2400)) / 3600));
    expect(verdict.monotonic).toBe(true);
    expect(verdict.endSlopePerHour).toBeGreaterThan(verdict.tolerancePerHour);
  });

  it("fails a cache still filling when the run ends (too short to tell)", () => {
    expect(rss(run(30, fill(100, 1500))).monotonic).toBe(true);
  });

  it("passes a bounded cache that filled during the run and levelled off", () => {
    // An LRU cache filling at a steady rate to its 80 MiB bound by minute 50 (the shape the
    // 1-hour soak showed), with native memory settling by a few MiB: it rose through the first
    // two thirds after warm-up, and is flat over the last.
    const verdict = rss(
      run(96, (t) => 200 + 80 * Math.min(1, t / 3000) + 6 * (1 - Math.exp(-t / 1800))),
    );
    expect(verdict.last - verdict.first).toBeGreaterThan(25);
    expect(verdict.monotonic).toBe(false);
  });

  it("passes a flat process and a breathing heap", () => {
    const verdicts = judgeGrowth(run(20, () => 200));
    expect(verdicts.map((g) => [g.name, g.monotonic])).toEqual([
      ["RSS (MiB)", false],
      ["open FDs", false],
      ["heap used (MiB)", false],
    ]);
  });
});
