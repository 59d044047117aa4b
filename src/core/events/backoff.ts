/**
 * When to try a failed delivery again: exponential backoff with full jitter (AWS Architecture
 * Blog, "Exponential Backoff And Jitter"): a uniform random wait in [0, min(cap, base·2^(n−1))]
 * after the n-th failure, so receivers that come back are not hit by a synchronised herd.
 */
export function retryDelayMs(
  failures: number,
  options: { baseMs: number; capMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.floor(random() * ceiling);
}
