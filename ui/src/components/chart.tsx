/**
 * Small SVG charts (no chart library: a line chart and a bar chart are ~100 lines, a library
 * would be most of the page's weight). Colours come from CSS classes (series-0…3), so dark mode
 * and the strict CSP (no inline styles) both hold. Each chart is an <svg role="img"> with a
 * text description, and the numbers are also in a table next to it for screen readers.
 */
export interface Series {
  name: string;
  points: (number | null)[];
}

const width = 480;
const height = 160;
const pad = { left: 44, right: 8, top: 10, bottom: 22 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  const n = v / p;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * p;
}

function fmt(v: number, unit: string) {
  const s = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2).replace(/\.?0+$/, "");
  return `${s}${unit}`;
}

export function LineChart({
  title,
  series,
  labels,
  unit = "",
  max,
}: {
  title: string;
  series: Series[];
  labels: string[];
  unit?: string;
  max?: number;
}) {
  const values = series.flatMap((s) => s.points.filter((p): p is number => p !== null));
  const top = max ?? niceMax(Math.max(0, ...values));
  const n = Math.max(labels.length, 2);
  const x = (i: number) => pad.left + (i * (width - pad.left - pad.right)) / (n - 1);
  const y = (v: number) => pad.top + (1 - v / top) * (height - pad.top - pad.bottom);
  const last = series.map((s) => `${s.name} ${fmt(s.points.at(-1) ?? 0, unit)}`).join(", ");
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${title}: latest ${last}`}
        data-points={values.length}
      >
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line
              class="grid-line"
              x1={pad.left}
              x2={width - pad.right}
              y1={y(top * f)}
              y2={y(top * f)}
            />
            <text class="axis" x={pad.left - 4} y={y(top * f) + 4} text-anchor="end">
              {fmt(top * f, unit)}
            </text>
          </g>
        ))}
        <text class="axis" x={pad.left} y={height - 4}>
          {labels[0] ?? ""}
        </text>
        <text class="axis" x={width - pad.right} y={height - 4} text-anchor="end">
          {labels.at(-1) ?? ""}
        </text>
        {series.map((s, si) => {
          const pts = s.points
            .map((v, i) => (v === null ? null : `${x(i)},${y(Math.min(v, top))}`))
            .filter((p) => p !== null);
          return (
            <g key={s.name} class={`series-${si}`}>
              <polyline fill="none" stroke-width="2" points={pts.join(" ")} />
              {pts.length === 1 && (
                <circle r="3" cx={pts[0]!.split(",")[0]} cy={pts[0]!.split(",")[1]} />
              )}
            </g>
          );
        })}
      </svg>
      <Legend series={series} />
    </figure>
  );
}

export function BarChart({
  title,
  series,
  groups,
  unit = "",
}: {
  title: string;
  series: Series[];
  groups: string[];
  unit?: string;
}) {
  const values = series.flatMap((s) => s.points.filter((p): p is number => p !== null));
  const top = niceMax(Math.max(0, ...values));
  const groupWidth = (width - pad.left - pad.right) / Math.max(groups.length, 1);
  const barWidth = (groupWidth * 0.8) / Math.max(series.length, 1);
  const y = (v: number) => pad.top + (1 - v / top) * (height - pad.top - pad.bottom);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${title}: ${groups
          .map(
            (g, gi) =>
              `${g} ${series.map((s) => `${s.name} ${fmt(s.points[gi] ?? 0, unit)}`).join(" ")}`,
          )
          .join("; ")}`}
        data-points={values.length}
      >
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line
              class="grid-line"
              x1={pad.left}
              x2={width - pad.right}
              y1={y(top * f)}
              y2={y(top * f)}
            />
            <text class="axis" x={pad.left - 4} y={y(top * f) + 4} text-anchor="end">
              {fmt(top * f, unit)}
            </text>
          </g>
        ))}
        {groups.map((g, gi) => (
          <g key={g}>
            {series.map((s, si) => {
              const v = s.points[gi] ?? 0;
              const bx = pad.left + gi * groupWidth + groupWidth * 0.1 + si * barWidth;
              return (
                <rect
                  key={s.name}
                  class={`series-${si}`}
                  x={bx}
                  y={y(v)}
                  width={Math.max(barWidth - 2, 1)}
                  height={Math.max(y(0) - y(v), 0)}
                >
                  <title>{`${g} · ${s.name}: ${fmt(v, unit)}`}</title>
                </rect>
              );
            })}
            <text
              class="axis"
              x={pad.left + gi * groupWidth + groupWidth / 2}
              y={height - 4}
              text-anchor="middle"
            >
              {g}
            </text>
          </g>
        ))}
      </svg>
      {series.length > 1 && <Legend series={series} />}
    </figure>
  );
}

function Legend({ series }: { series: Series[] }) {
  return (
    <ul class="legend">
      {series.map((s, i) => (
        <li key={s.name} class={`series-${i}`}>
          <span class="swatch" aria-hidden="true" />
          {s.name}
        </li>
      ))}
    </ul>
  );
}
