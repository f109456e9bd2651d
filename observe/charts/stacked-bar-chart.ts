import { linearScale } from './scale.ts';
import { axes, color, escapeHtml, figure, LAYOUT, legend, px } from './svg.ts';

/** What a stacked bar chart draws: one bar per x, one coloured segment per layer. */
export interface StackedBarChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel?: string;
  /** Bar positions (e.g. steps), ascending. */
  x: number[];
  /** Layers bottom to top; `values[i]` belongs to `x[i]`; missing or negative values count as 0. */
  layers: { name: string; values: (number | undefined)[] }[];
  /** Average groups of consecutive bars above this many, so bars stay at least ~2 units wide (default 300). */
  maxBars?: number;
}

/**
 * Stacked bars, e.g. the seconds each phase of a PPO iteration took (generate, score, advantages, train), so that
 * where time goes, and how it shifts over a run, is visible at a glance.
 *
 * @example
 * stackedBarChart({ id: 'phases', title: 'Phase time', xLabel: 'step', x: [1, 2],
 *   layers: [{ name: 'generate', values: [1.2, 1.1] }, { name: 'train', values: [0.8, 0.9] }] });
 */
export function stackedBarChart(spec: StackedBarChartSpec): string {
  const layout = LAYOUT;
  const { x: positions, layers, groupSize } = bucket(spec.x, spec.layers, spec.maxBars ?? 300);
  const totals = positions.map((_, index) => layers.reduce((sum, layer) => sum + clean(layer.values[index]), 0));
  const x = linearScale(
    positions.length === 0 ? [0, 1] : [positions[0] as number, positions[positions.length - 1] as number],
    [layout.left, layout.width - layout.right],
    6,
  );
  const y = linearScale([0, Math.max(...totals, 0)], [layout.height - layout.bottom, layout.top], 5);
  const plotWidth = layout.width - layout.left - layout.right;
  const span = x.domain[1] - x.domain[0];
  const spacing = positions.length > 1 ? ((positions[1] as number) - (positions[0] as number)) : span / 4;
  const barWidth = Math.max(0.6, Math.min((spacing / span) * plotWidth * 0.85, 40));

  const groups = layers.map((layer, layerIndex) => {
    const rects: string[] = [];
    positions.forEach((position, index) => {
      const value = clean(layer.values[index]);
      if (value <= 0) return;
      const below = layers.slice(0, layerIndex).reduce((sum, lower) => sum + clean(lower.values[index]), 0);
      const top = y(below + value);
      const height = y(below) - top;
      rects.push(`<rect x="${px(x(position) - barWidth / 2)}" y="${px(top)}" width="${px(barWidth)}" height="${px(Math.max(height, 0.5))}"><title>${escapeHtml(`${spec.xLabel} ${position}: ${layer.name} ${value.toPrecision(3)}`)}</title></rect>`);
    });
    return {
      count: rects.length,
      html: `<g class="layer" data-series="${escapeHtml(layer.name)}" data-points="${rects.length}" fill="${color(layerIndex)}">${rects.join('')}</g>`,
    };
  });
  const points = groups.reduce((sum, group) => sum + group.count, 0);
  const svg = `<svg viewBox="0 0 ${layout.width} ${layout.height}" role="img" aria-label="${escapeHtml(spec.title)}">`
    + axes(x, y, layout, { x: spec.xLabel, y: spec.yLabel })
    + `<g class="plot">${groups.map((group) => group.html).join('')}</g></svg>`;
  const after = legend(layers.map((layer, index) => ({ name: layer.name, color: color(index) })));
  const note = groupSize > 1 ? `Each bar is the mean of ${groupSize} consecutive steps.` : undefined;
  return figure({ id: spec.id, title: spec.title, points, svg, after, note, kind: 'stacked-bar' });
}

function clean(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Average consecutive bars in groups so that at most `maxBars` remain. */
function bucket(
  x: number[],
  layers: StackedBarChartSpec['layers'],
  maxBars: number,
): { x: number[]; layers: { name: string; values: number[] }[]; groupSize: number } {
  const groupSize = Math.max(1, Math.ceil(x.length / maxBars));
  const groupedX: number[] = [];
  for (let start = 0; start < x.length; start += groupSize) {
    const members = x.slice(start, start + groupSize);
    groupedX.push(members.reduce((sum, value) => sum + value, 0) / members.length);
  }
  return {
    x: groupedX,
    groupSize,
    layers: layers.map((layer) => ({
      name: layer.name,
      values: groupedX.map((_, group) => {
        const members = layer.values.slice(group * groupSize, (group + 1) * groupSize).map(clean);
        return members.reduce((sum, value) => sum + value, 0) / Math.max(members.length, 1);
      }),
    })),
  };
}
