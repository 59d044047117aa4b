import { randomId } from "../kernel/crypto";

let lastMs = 0;
let sequence = 0;

/**
 * A unique event id that sorts by time: `evt_` + the epoch ms (base 36, 9 digits) + a per-process
 * sequence within that millisecond (4 digits) + 8 random characters. Ids from one process sort
 * in the order they were made; across processes, by millisecond.
 */
export function eventId(nowMs: number): string {
  if (nowMs === lastMs) sequence++;
  else {
    lastMs = nowMs;
    sequence = 0;
  }
  const time = Math.max(0, Math.floor(nowMs)).toString(36).padStart(9, "0");
  const seq = (sequence % 36 ** 4).toString(36).padStart(4, "0");
  return `evt_${time}${seq}${randomId("x").slice(2, 10)}`;
}
