import { FilterError, filterLimits } from "./ast";

export type Token =
  | { type: "string"; value: string; pos: number }
  | { type: "number"; value: number; pos: number }
  | { type: "ident"; value: string; pos: number }
  | { type: "op"; value: string; pos: number }
  | { type: "and" | "or" | "lparen" | "rparen" | "eof"; pos: number };

const ops = [
  "?!=",
  "?>=",
  "?<=",
  "?!~",
  "!=",
  ">=",
  "<=",
  "!~",
  "?=",
  "?>",
  "?<",
  "?~",
  "=",
  ">",
  "<",
  "~",
];
const identStart = /[A-Za-z_@]/;
const identPart = /[A-Za-z0-9_.:]/;

/** Splits a filter into tokens. Strings take single or double quotes with backslash escapes. */
export function tokenize(source: string): Token[] {
  if (source.length > filterLimits.maxLength) {
    throw new FilterError(
      `filter is longer than ${filterLimits.maxLength} characters`,
      filterLimits.maxLength,
    );
  }
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      i++;
      continue;
    }
    const pos = i;
    if (ch === "(" || ch === ")") {
      tokens.push({ type: ch === "(" ? "lparen" : "rparen", pos });
      i++;
    } else if (source.startsWith("&&", i)) {
      tokens.push({ type: "and", pos });
      i += 2;
    } else if (source.startsWith("||", i)) {
      tokens.push({ type: "or", pos });
      i += 2;
    } else if (ch === "'" || ch === '"') {
      let value = "";
      i++;
      for (;;) {
        if (i >= source.length) throw new FilterError("unterminated string", pos);
        const c = source[i]!;
        if (c === "\\") {
          const next = source[i + 1];
          if (next === undefined) throw new FilterError("unterminated string", pos);
          value += next;
          i += 2;
        } else if (c === ch) {
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      tokens.push({ type: "string", value, pos });
    } else if (/[0-9]/.test(ch) || (ch === "-" && /[0-9]/.test(source[i + 1] ?? ""))) {
      const match = /^-?\d+(\.\d+)?/.exec(source.slice(i, i + 40));
      const text = match![0];
      const value = Number(text);
      if (!Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER)
        throw new FilterError("number out of range", pos);
      tokens.push({ type: "number", value, pos });
      i += text.length;
    } else if (identStart.test(ch)) {
      let j = i + 1;
      while (j < source.length && identPart.test(source[j]!)) j++;
      tokens.push({ type: "ident", value: source.slice(i, j), pos });
      i = j;
    } else {
      const op = ops.find((o) => source.startsWith(o, i));
      if (op === undefined)
        throw new FilterError(`unexpected character ${JSON.stringify(ch)}`, pos);
      tokens.push({ type: "op", value: op, pos });
      i += op.length;
    }
  }
  tokens.push({ type: "eof", pos: source.length });
  return tokens;
}
