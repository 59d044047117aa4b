/// <reference types="@cloudflare/vitest-plugin/types" />
declare module "cloudflare:workers" {
  interface ProvidedEnv extends Env {}
}
