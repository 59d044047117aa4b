import type { Principal } from "../../core/kernel/principal";
import type { ReadOptions } from "../../core/records/service";
import type { SearchService } from "../../core/search/service";
import type { Services } from "../context";
import type { RelationLoader } from "./loader";

/** What every resolver sees: the caller, the engine's services, and this request's state. */
export interface GraphQLContext {
  principal: Principal;
  services: Services;
  read: ReadOptions;
  /** The search service REST's /search uses (made on first use). */
  search(): SearchService;
  /** Batches by-id reads of related records (one query per collection and tick). */
  loader: RelationLoader;
  /** Versions the request's mutations produced (read-your-writes, cache invalidation). */
  wrote: Map<string, number> | undefined;
  /** Collections the request's mutations deleted records from (their files are swept after). */
  deletedFrom: Set<string>;
}

/** Keeps the highest version per scope across several writes of one request. */
export function mergeVersions(
  into: Map<string, number> | undefined,
  versions: Map<string, number>,
): Map<string, number> {
  const merged = new Map(into);
  for (const [scope, version] of versions)
    merged.set(scope, Math.max(version, merged.get(scope) ?? 0));
  return merged;
}
