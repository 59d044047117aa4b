/** Record ids are `<prefix>_<random>` (see `randomId`); anything else names no record. */
export const recordIdPattern = /^[a-z]{2,8}_[a-z0-9]{1,40}$/;

export const isRecordId = (id: unknown): id is string =>
  typeof id === "string" && recordIdPattern.test(id);

/** A record's ETag: its id and revision. Strong, so If-Match can use it. */
export const recordEtag = (id: string, rev: number) => `"${id}.${rev}"`;

/**
 * The revision an If-Match header demands for record `id`: `undefined` when there is no
 * precondition (absent or `*`), `-1` when it names another record or is malformed (never matches).
 */
export function expectedRevision(ifMatch: string | undefined, id: string): number | undefined {
  if (ifMatch === undefined || ifMatch.trim() === "*") return undefined;
  const match = /^"(.+)\.(\d{1,12})"$/.exec(ifMatch.trim());
  return match && match[1] === id && isRecordId(id) ? Number(match[2]) : -1;
}
