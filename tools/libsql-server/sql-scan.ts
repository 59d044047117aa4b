/** What the server must know about a SQL string before it prepares it. */
export interface SqlShape {
  /** How many statements it holds (0 when it is only whitespace, comments and semicolons). */
  statements: number;
  /**
   * The first statement's parameters in bind order, named as SQLite names them (`:a`, `@a`, `$a`,
   * `?3`), null for a bare `?`. Its length is the highest parameter index.
   */
  params: (string | null)[];
  /** The first statement's first keyword, upper-cased (`SELECT`, `EXPLAIN`, `BEGIN`…). */
  keyword: string;
}

/** SQLite's largest parameter index; a bigger `?NNN` fails to prepare anyway. */
const MAX_PARAMS = 32_766;

function isIdChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) ||
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 95 ||
    c === 36 /* 0-9 A-Z a-z _ $ */ ||
    c > 127
  );
}

/**
 * Tokenizes SQL the way SQLite does, as far as counting statements and parameters needs. The
 * native binding prepares only the first statement of a string and silently drops the rest, and
 * binds missing arguments as NULL; sqld answers both with an error (SQL_MANY_STATEMENTS,
 * ARGS_INVALID), and so must we. Strings, quoted identifiers and comments hide `;` and `?`; a
 * `CREATE TRIGGER` body keeps its semicolons between BEGIN and the matching END.
 */
export function scanSql(sql: string): SqlShape {
  const params: (string | null)[] = [];
  let statements = 0;
  let keyword = "";
  let inStatement = false;
  let words: string[] = [];
  let depth = 0; // open BEGIN/CASE…END blocks, counted inside CREATE TRIGGER only
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || ch === "\f") {
      i++;
    } else if (ch === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (ch === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (ch === ";") {
      if (depth <= 0) inStatement = false;
      i++;
    } else {
      if (!inStatement) {
        inStatement = true;
        statements++;
        words = [];
        depth = 0;
      }
      const first = statements === 1;
      if (ch === "'" || ch === '"' || ch === "`" || ch === "[") {
        // A doubled quote inside reads as two adjacent literals: the same for our purpose.
        const end = sql.indexOf(ch === "[" ? "]" : ch, i + 1);
        i = end < 0 ? n : end + 1;
      } else if (ch === "?") {
        let j = i + 1;
        while (j < n && sql.charCodeAt(j) >= 48 && sql.charCodeAt(j) <= 57) j++;
        const index = j > i + 1 ? Number(sql.slice(i + 1, j)) : params.length + 1;
        if (first && index >= 1 && index <= MAX_PARAMS) {
          while (params.length < index) params.push(null);
          if (j > i + 1) params[index - 1] = sql.slice(i, j);
        }
        i = j;
      } else if ((ch === ":" || ch === "@" || ch === "$") && isIdChar(sql.charCodeAt(i + 1))) {
        let j = i + 1;
        while (j < n && isIdChar(sql.charCodeAt(j))) j++;
        const name = sql.slice(i, j);
        if (first && !params.includes(name)) params.push(name);
        i = j;
      } else if (isIdChar(sql.charCodeAt(i))) {
        let j = i + 1;
        while (j < n && isIdChar(sql.charCodeAt(j))) j++;
        const word = sql.slice(i, j).toUpperCase();
        if (first && keyword === "") keyword = word;
        if (words.length < 3) words.push(word);
        if (isCreateTrigger(words)) {
          if (word === "BEGIN" || word === "CASE") depth++;
          else if (word === "END") depth--;
        }
        i = j;
      } else {
        i++;
      }
    }
  }
  return { statements, params, keyword };
}

function isCreateTrigger(words: string[]): boolean {
  if (words[0] !== "CREATE") return false;
  const kind = words[1] === "TEMP" || words[1] === "TEMPORARY" ? words[2] : words[1];
  return kind === "TRIGGER";
}
