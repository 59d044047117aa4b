import { FilterError } from "./ast";

// A date, then a time (space or T), optional seconds and fraction, and a zone if any.
const dateTime =
  /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Stored timestamps are `toISOString()` text (`2026-01-01T03:00:00.000Z`) and compare as text, so
 * a date-time literal must be in exactly that form to compare correctly: PocketBase's
 * `2026-01-01 03:00:00.000Z`, or `…T03:00:00Z` without milliseconds, would sort wrongly against
 * them. Such literals are rewritten to the stored form; one without a time zone is refused (it
 * names no instant), as is one that is not a real date. Anything else (dates alone, which
 * compare correctly as prefixes, and all other text) is left as it is.
 */
export function normaliseDateTime(value: string, pos: number): string {
  const m = dateTime.exec(value);
  if (m === null) return value;
  const [, date, hm, seconds, fraction, zone] = m;
  if (zone === undefined)
    throw new FilterError(
      `date-time ${JSON.stringify(value)} needs a time zone, e.g. ${date}T${hm}:${seconds ?? "00"}Z`,
      pos,
    );
  const offset = zone.toUpperCase() === "Z" ? "Z" : zone.replace(/^([+-]\d{2})(\d{2})$/, "$1:$2");
  const iso = `${date}T${hm}:${seconds ?? "00"}${fraction ? `.${fraction.slice(0, 3).padEnd(3, "0")}` : ""}${offset}`;
  const ms = Date.parse(iso);
  const [year, month, day] = date!.split("-").map(Number);
  const check = new Date(Date.UTC(year!, month! - 1, day!));
  if (
    Number.isNaN(ms) ||
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month! - 1 ||
    check.getUTCDate() !== day
  )
    throw new FilterError(`${JSON.stringify(value)} is not a valid date-time`, pos);
  return new Date(ms).toISOString();
}
