import type { TestProject } from "vitest/node";
import { startLoopbackFakes } from "./loopback-fakes";

declare module "vitest" {
  export interface ProvidedContext {
    /** The loopback mail provider and OIDC provider (test/conformance/loopback-fakes.ts). */
    loopbackFakesUrl: string;
  }
}

/** Starts the auth suites' mail and OIDC providers on loopback for the worker in workerd. */
export default async function setup(project: TestProject) {
  const fakes = await startLoopbackFakes();
  project.provide("loopbackFakesUrl", fakes.base);
  return () => fakes.close();
}
