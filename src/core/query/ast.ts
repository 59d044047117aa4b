/** The filter language's syntax tree. Positions are 0-based offsets into the source. */
export type Literal = { kind: "literal"; value: string | number | boolean | null; pos: number };
/**
 * A field of the record, or of a related record one hop away (`post.status`). `length` is the
 * `:length` modifier: the number of elements of a multi-valued (JSON list) field.
 */
export type Field = { kind: "field"; path: string[]; modifier?: "length"; pos: number };
export type AuthField = { kind: "auth"; field: string; pos: number };
export type Now = { kind: "now"; pos: number };
export type Operand = Literal | Field | AuthField | Now;

export const comparisonOps = ["=", "!=", ">", ">=", "<", "<=", "~", "!~"] as const;
export type ComparisonOp = (typeof comparisonOps)[number];

export type Comparison = {
  kind: "compare";
  op: ComparisonOp;
  /** The `?` forms: true when any element of a multi-valued left side must match. */
  any: boolean;
  left: Operand;
  right: Operand;
  pos: number;
};
export type Logical = { kind: "and" | "or"; items: Expr[]; pos: number };
export type Expr = Comparison | Logical;

/** Raised for any syntax or limit violation; `pos` points at the offending character. */
export class FilterError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(`${message} (at character ${pos + 1})`);
    this.name = "FilterError";
  }
}

export const filterLimits = { maxLength: 2048, maxDepth: 8, maxTerms: 64 } as const;
