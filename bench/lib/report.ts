import type { LoadResult } from "./load";

export interface Row {
  scenario: string;
  target: string;
  result: LoadResult;
  rssMiB: number;
  peakMiB: number;
  /** Throughput relative to the floor on the same scenario, measured in the same run. */
  ratio: number | undefined;
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);

/** The results as a markdown table, one row per scenario × target. */
export function markdownTable(rows: readonly Row[]): string {
  const head =
    "| scenario | target | req/s | p50 ms | p99 ms | non-2xx | RSS MiB | peak MiB | × floor |\n|---|---|---:|---:|---:|---:|---:|---:|---:|";
  const body = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.target} | ${fmt(r.result.requestsPerSec)} | ${fmt(r.result.p50, 1)} | ${fmt(r.result.p99, 1)} | ${r.result.non2xx + r.result.errors} | ${fmt(r.rssMiB, 1)} | ${fmt(r.peakMiB, 1)} | ${r.ratio === undefined ? "—" : `${fmt(r.ratio, 2)}×`} |`,
  );
  return [head, ...body].join("\n");
}

const palette = ["#6b7280", "#2563eb", "#f97316", "#16a34a"];

/** A grouped bar chart of req/s per scenario and target, as a standalone SVG. */
export function barChart(rows: readonly Row[], title: string): string {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const targets = [...new Set(rows.map((r) => r.target))];
  const max = Math.max(1, ...rows.map((r) => r.result.requestsPerSec));
  const barW = 18;
  const groupW = targets.length * barW + 24;
  const chartH = 260;
  const left = 60;
  const width = left + scenarios.length * groupW + 20;
  const height = chartH + 120;
  const esc = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = 30 + chartH - (chartH * i) / 4;
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    parts.push(
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end">${Math.round((max * i) / 4)}</text>`,
    );
  }
  scenarios.forEach((scenario, si) => {
    const x0 = left + si * groupW + 12;
    targets.forEach((target, ti) => {
      const row = rows.find((r) => r.scenario === scenario && r.target === target);
      if (!row) return;
      const h = (chartH * row.result.requestsPerSec) / max;
      parts.push(
        `<rect x="${x0 + ti * barW}" y="${30 + chartH - h}" width="${barW - 3}" height="${h}" fill="${palette[ti % palette.length]}"/>`,
      );
    });
    parts.push(
      `<text x="${x0}" y="${30 + chartH + 14}" transform="rotate(30 ${x0} ${30 + chartH + 14})">${esc(scenario)}</text>`,
    );
  });
  targets.forEach((target, ti) => {
    const x = left + ti * 150;
    parts.push(
      `<rect x="${x}" y="${height - 18}" width="10" height="10" fill="${palette[ti % palette.length]}"/>`,
    );
    parts.push(`<text x="${x + 14}" y="${height - 9}">${esc(target)}</text>`);
  });
  parts.push(
    `<text x="8" y="${30 + chartH / 2}" transform="rotate(-90 8 ${30 + chartH / 2})">req/s</text>`,
    "</svg>",
  );
  return parts.join("\n");
}
