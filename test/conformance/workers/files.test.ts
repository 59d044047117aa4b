import { env } from "cloudflare:workers";
import { defineFilesSuite } from "../files.suite";
import { makeWorkersHome } from "../workers-home";

// miniflare's R2 behind the FILES binding; a wrapper makes deletes of one key fail while broken.
defineFilesSuite(makeWorkersHome, () => {
  const bucket = (env as unknown as { FILES: R2Bucket }).FILES;
  let broken: string | undefined;
  const flaky = {
    put: bucket.put.bind(bucket),
    get: bucket.get.bind(bucket),
    head: bucket.head.bind(bucket),
    async delete(keys: string | string[]) {
      const list = Array.isArray(keys) ? keys : [keys];
      if (broken !== undefined && list.includes(broken)) throw new Error("R2 unavailable (test)");
      return bucket.delete(list);
    },
  };
  return {
    env: { FILES: flaky } as unknown as Record<string, string>,
    stored: async (key) => (await bucket.head(key)) !== null,
    remove: async (key) => {
      await bucket.delete(key);
    },
    async breakDeletes(key) {
      broken = key;
    },
    async heal() {
      broken = undefined;
    },
  };
});
