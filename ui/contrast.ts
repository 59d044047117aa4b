// Colour contrast of the admin dashboard's two themes (WCAG 2.2 AA), computed from the CSS
// variables in ui/src/styles.css: `npx tsx ui/contrast.ts` prints every pair; `npm run build:ui`
// fails when one is under its minimum (scripts/build-ui.ts), and so does the unit test in
// src/http/routes/admin-ui.test.ts. Text needs 4.5:1 (1.4.3); what identifies a control, the
// focus ring and chart marks need 3:1 against what is next to them (1.4.11).
import { readFileSync } from "node:fs";
import { join } from "node:path";

export type Theme = Record<string, string>;

/** The `--name: #hex` declarations of the light `:root` and, over them, the dark one. */
export function themes(css: string): { light: Theme; dark: Theme } {
  const vars = (block: string): Theme =>
    Object.fromEntries(
      [...block.matchAll(/--([\w-]+):\s*(#[0-9a-fA-F]{3,8})\s*;/g)].map((m) => [m[1]!, m[2]!]),
    );
  const light = /^:root\s*\{([^}]*)\}/m.exec(css);
  const dark = /@media\s*\(prefers-color-scheme:\s*dark\)\s*\{\s*:root\s*\{([^}]*)\}/.exec(css);
  if (light === null || dark === null) throw new Error("styles.css: no light or dark :root block");
  const base = vars(light[1]!);
  return { light: base, dark: { ...base, ...vars(dark[1]!) } };
}

function channels(hex: string): [number, number, number] {
  let h = hex.slice(1);
  if (h.length === 3) h = [...h].map((c) => c + c).join("");
  return [0, 2, 4].map((i) => Number.parseInt(h.slice(i, i + 2), 16) / 255) as [
    number,
    number,
    number,
  ];
}

/** WCAG relative luminance of an sRGB colour. */
export function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((c) =>
    c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4,
  ) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The WCAG contrast ratio of two colours, 1 to 21. */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Foreground variable, background variable, minimum ratio, and where the pair appears. */
export const pairs: [string, string, number, string][] = [
  ["text", "bg", 4.5, "body text"],
  ["text", "panel", 4.5, "text in cards, tables, inputs"],
  ["muted", "bg", 4.5, "secondary text on the page"],
  ["muted", "panel", 4.5, "secondary text, table headers, chart axes"],
  ["accent", "bg", 4.5, "links on the page"],
  ["accent", "panel", 4.5, "links and link buttons in cards"],
  ["accent-text", "accent", 4.5, "button labels"],
  ["danger", "bg", 4.5, "danger buttons and errors on the page"],
  ["danger", "panel", 4.5, "danger buttons, errors, failed outcomes in cards"],
  ["ok", "bg", 4.5, "success notices on the page"],
  ["ok", "panel", 4.5, "success notices in cards"],
  ["control", "panel", 3, "input, select and checkbox borders"],
  ["control", "bg", 3, "input borders on the page"],
  ["focus", "bg", 3, "focus ring on the page"],
  ["focus", "panel", 3, "focus ring in cards"],
  ["s0", "panel", 3, "chart series 1"],
  ["s1", "panel", 3, "chart series 2, conflict border"],
  ["s2", "panel", 3, "chart series 3"],
  ["s3", "panel", 3, "chart series 4"],
];

export interface Check {
  theme: "light" | "dark";
  fg: string;
  bg: string;
  ratio: number;
  min: number;
  where: string;
}

/** Every pair in both themes, with its ratio. */
export function checkContrast(css: string): Check[] {
  const out: Check[] = [];
  for (const [name, theme] of Object.entries(themes(css)) as ["light" | "dark", Theme][])
    for (const [fg, bg, min, where] of pairs) {
      const a = theme[fg];
      const b = theme[bg];
      if (a === undefined || b === undefined)
        throw new Error(`styles.css: --${a === undefined ? fg : bg} is not set (${name})`);
      out.push({ theme: name, fg, bg, ratio: contrast(a, b), min, where });
    }
  return out;
}

export const stylesPath = join(import.meta.dirname, "src", "styles.css");

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const checks = checkContrast(readFileSync(stylesPath, "utf8"));
  for (const c of checks)
    console.log(
      `${c.ratio >= c.min ? "ok  " : "FAIL"} ${c.theme.padEnd(5)} --${c.fg} on --${c.bg}: ${c.ratio.toFixed(2)}:1 (min ${c.min}) ${c.where}`,
    );
  if (checks.some((c) => c.ratio < c.min)) process.exit(1);
}
