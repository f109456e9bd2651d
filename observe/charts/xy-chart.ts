import { extent, linearScale, logScale } from './scale.ts';
import { axes, color, escapeHtml, figure, LAYOUT, legend, px, WIDE_LAYOUT } from './svg.ts';

/** One point; `label` becomes its hover title (markers only). */
export interface XYPoint {
  x: number;
  y: number;
  label?: string;
  /** Short text drawn beside the marker (e.g. `beta=0.1`). */
  tag?: string;
}

/** One series of an x/y chart. */
export interface XYSeries {
  name: string;
  points: XYPoint[];
  /** Default: the palette colour for the series' position. */
  color?: string;
  /** `line` (default), `markers` (a scatter), or both. */
  mode?: 'line' | 'markers' | 'line+markers';
  /** Drawn thin and pale behind its smoothed twin; not in the legend. */
  faint?: boolean;
  dashed?: boolean;
  /** Mark the last point with a cross (a pruned trial stops there). */
  endMarker?: 'cross';
  /** Leave out of the legend (default: shown unless faint). */
  hideFromLegend?: boolean;
}

/** What an x/y chart draws. */
export interface XYChartSpec {
  /** Stable id: the figure's `data-chart` and DOM id. */
  id: string;
  title: string;
  xLabel: string;
  yLabel?: string;
  series: XYSeries[];
  /** Horizontal reference lines, e.g. the SFT baseline's gold reward. */
  referenceLines?: { y: number; label: string }[];
  /** Log-scaled y axis (all values must be positive). */
  yLog?: boolean;
  /** Extra legend entries (e.g. "x pruned"). */
  legendExtras?: { name: string; color: string; marker?: 'cross' }[];
  note?: string;
  /** Span the whole row of the report's grid. */
  wide?: boolean;
}

/**
 * A line chart, scatter chart or both, as an inline SVG `<figure>`. Non-finite y values leave gaps. Each drawn
 * series carries `data-points` (its point count), and the figure the total, so a test (or the page's own check)
 * can verify that every chart drew its data. The series are also embedded as JSON for the hover readout.
 *
 * @example
 * xyChart({ id: 'kl', title: 'KL to reference', xLabel: 'step', series: [{ name: 'kl', points: [{ x: 1, y: 0.01 }] }] });
 */
export function xyChart(spec: XYChartSpec): string {
  const layout = spec.wide ? WIDE_LAYOUT : LAYOUT;
  const plotted = spec.series.map((series) => ({
    ...series,
    points: series.points.filter((point) => Number.isFinite(point.x) && (Number.isFinite(point.y) || !spec.yLog)),
  }));
  const allPoints = plotted.flatMap((series) => series.points);
  // Markers sit inside the frame, not on it: pad the data range by 4% (x too when there are markers).
  const hasMarkers = plotted.some((series) => (series.mode ?? 'line') !== 'line');
  const xs = pad(extent(allPoints.map((point) => point.x)), hasMarkers ? 0.04 : 0);
  const ys = pad(extent([...allPoints.map((point) => point.y), ...(spec.referenceLines ?? []).map((line) => line.y)]), spec.yLog ? 0 : 0.04);
  const x = linearScale(xs, [layout.left, layout.width - layout.right], 6);
  const y = spec.yLog
    ? logScale(ys, [layout.height - layout.bottom, layout.top])
    : linearScale(ys, [layout.height - layout.bottom, layout.top], 5);
  const clipId = `clip-${spec.id}`;

  let total = 0;
  const drawn: string[] = [];
  plotted.forEach((series, index) => {
    const stroke = series.color ?? color(index);
    const finite = series.points.filter((point) => Number.isFinite(point.y));
    if (finite.length === 0) return;
    total += finite.length;
    const mode = series.mode ?? 'line';
    const seriesName = escapeHtml(series.name);
    // A single point has no segment to draw, so it gets a dot instead of a path.
    const hasPath = mode !== 'markers' && finite.length > 1;
    if (hasPath) {
      const classes = `series${series.faint ? ' faint' : ''}${series.dashed ? ' dashed' : ''}`;
      drawn.push(`<path class="${classes}" data-series="${seriesName}" data-points="${finite.length}" stroke="${stroke}" d="${pathData(series.points, x, y)}"/>`);
    }
    if (!hasPath || mode === 'line+markers') {
      const markers = finite
        .map((point) => `<circle cx="${px(x(point.x))}" cy="${px(y(point.y))}" r="3.2" fill="${stroke}"><title>${escapeHtml(point.label ?? `${series.name}: (${point.x}, ${point.y})`)}</title></circle>`)
        .join('');
      // Points are counted once per series: on the path when there is one, else on the markers.
      const counted = hasPath ? '' : ` data-points="${finite.length}"`;
      const tags = finite
        .filter((point) => point.tag)
        .map((point) => {
          // A tag near the right edge is written leftwards of its point so it stays inside the plot.
          const nearRight = x(point.x) > layout.width - layout.right - 90;
          const anchor = nearRight ? ' text-anchor="end"' : '';
          return `<text class="point-tag" x="${px(x(point.x) + (nearRight ? -6 : 6))}" y="${px(y(point.y) - 6)}"${anchor}>${escapeHtml(point.tag as string)}</text>`;
        })
        .join('');
      drawn.push(`<g class="markers" data-series="${seriesName}"${counted}>${markers}${tags}</g>`);
    }
    if (series.endMarker === 'cross') {
      const last = finite[finite.length - 1] as XYPoint;
      drawn.push(cross(x(last.x), y(last.y), stroke, `${series.name} pruned at ${last.x}`));
    }
  });
  const references = (spec.referenceLines ?? []).map((line) => {
    const ly = px(y(line.y));
    return `<line class="reference" x1="${layout.left}" x2="${layout.width - layout.right}" y1="${ly}" y2="${ly}"/>`
      + `<text class="reference-label" x="${layout.width - layout.right - 4}" y="${Number(ly) - 4}" text-anchor="end">${escapeHtml(line.label)}</text>`;
  });
  const svg = `<svg viewBox="0 0 ${layout.width} ${layout.height}" role="img" aria-label="${escapeHtml(spec.title)}">`
    + `<defs><clipPath id="${escapeHtml(clipId)}"><rect x="${layout.left}" y="${layout.top}" width="${layout.width - layout.left - layout.right}" height="${layout.height - layout.top - layout.bottom}"/></clipPath></defs>`
    + axes(x, y, layout, { x: spec.xLabel, y: spec.yLabel })
    + `<g class="plot" clip-path="url(#${escapeHtml(clipId)})">${references.join('')}${drawn.join('')}</g>`
    + `<g class="hover"></g></svg>`;
  const legendEntries = plotted
    .filter((series) => !series.faint && !series.hideFromLegend)
    .map((series) => ({ name: series.name, color: series.color ?? color(plotted.indexOf(series)), dashed: series.dashed }));
  const hoverData = {
    x: { domain: x.domain, range: [layout.left, layout.width - layout.right] },
    y: { domain: y.domain, range: [layout.height - layout.bottom, layout.top], log: Boolean(spec.yLog) },
    series: plotted
      .filter((series) => !series.faint && (series.mode ?? 'line') !== 'markers')
      .map((series) => ({ name: series.name, points: series.points.map((point) => [point.x, point.y]) })),
  };
  const after = legend([...legendEntries, ...(spec.legendExtras ?? [])])
    + `<script type="application/json" class="chart-data">${jsonForScript(hoverData)}</script>`;
  return figure({ id: spec.id, title: spec.title, points: total, svg, after, note: spec.note, kind: 'xy', wide: spec.wide });
}

function pad([min, max]: [number, number], fraction: number): [number, number] {
  const margin = (max - min) * fraction;
  return [min - margin, max + margin];
}

/** `M x y L x y ...`, starting a new subpath after each gap (non-finite y). */
function pathData(points: XYPoint[], x: (value: number) => number, y: (value: number) => number): string {
  const parts: string[] = [];
  let drawing = false;
  for (const point of points) {
    if (!Number.isFinite(point.y)) {
      drawing = false;
      continue;
    }
    parts.push(`${drawing ? 'L' : 'M'}${px(x(point.x))} ${px(y(point.y))}`);
    drawing = true;
  }
  return parts.join('');
}

function cross(cx: number, cy: number, stroke: string, title: string): string {
  const size = 4.5;
  return `<path class="end-marker" stroke="${stroke}" d="M${px(cx - size)} ${px(cy - size)}L${px(cx + size)} ${px(cy + size)}M${px(cx - size)} ${px(cy + size)}L${px(cx + size)} ${px(cy - size)}"><title>${escapeHtml(title)}</title></path>`;
}

/** JSON that is safe inside `<script>`: no `</script>` or `<!--` can close or confuse it; non-finite numbers become null. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'number' && !Number.isFinite(item) ? null : item))
    .replace(/</g, '\\u003c');
}
