import { extent, formatNumber, linearScale, logScale, type Scale } from './scale.ts';
import { escapeHtml, figure, px } from './svg.ts';

/** One vertical axis: a hyperparameter or the objective. */
export interface ParallelAxis {
  name: string;
  /** `log` for log-distributed parameters; `categorical` spaces `choices` evenly. */
  kind: 'linear' | 'log' | 'categorical';
  choices?: string[];
}

/** One line: a trial's value on every axis (undefined where the trial lacks the parameter). */
export interface ParallelLine {
  label: string;
  values: (number | string | undefined)[];
  /** Drives the colour (usually the objective). */
  colorValue: number;
  /** Drawn on top, thicker (the best trial). */
  highlight?: boolean;
}

/** What a parallel-coordinates chart draws. */
export interface ParallelCoordinatesSpec {
  id: string;
  title: string;
  axes: ParallelAxis[];
  lines: ParallelLine[];
  /** Name of the colour scale (e.g. `objective (maximize)`). */
  colorLabel: string;
  note?: string;
}

const WIDTH = 640;
const HEIGHT = 320;
const TOP = 40;
const BOTTOM = 280;
const SIDE = 64;
/** Left edge of the colour-scale legend, bottom right. */
const RAMP_X = WIDTH - SIDE - 160;

/**
 * Parallel coordinates: one vertical axis per hyperparameter plus the objective, one polyline per trial coloured by
 * its objective, so that which parameter ranges produce good values shows as bundles of same-coloured lines.
 *
 * @example
 * parallelCoordinates({ id: 'params', title: 'Parameters', colorLabel: 'value',
 *   axes: [{ name: 'lr', kind: 'log' }, { name: 'value', kind: 'linear' }],
 *   lines: [{ label: 'trial 0', values: [1e-4, 0.8], colorValue: 0.8 }] });
 */
export function parallelCoordinates(spec: ParallelCoordinatesSpec): string {
  const step = spec.axes.length > 1 ? (WIDTH - 2 * SIDE) / (spec.axes.length - 1) : 0;
  const axisX = (index: number): number => (spec.axes.length > 1 ? SIDE + index * step : WIDTH / 2);
  const scales = spec.axes.map((axis, index) => axisScale(axis, spec.lines.map((line) => line.values[index])));
  const colorRange = extent(spec.lines.map((line) => line.colorValue));

  const ordered = [...spec.lines].sort((a, b) => Number(Boolean(a.highlight)) - Number(Boolean(b.highlight)));
  let drawnLines = 0;
  const paths = ordered.map((line) => {
    const parts: string[] = [];
    let drawing = false;
    line.values.forEach((value, index) => {
      const position = value === undefined ? undefined : scales[index]?.position(value);
      if (position === undefined || !Number.isFinite(position)) {
        drawing = false;
        return;
      }
      parts.push(`${drawing ? 'L' : 'M'}${px(axisX(index))} ${px(position)}`);
      drawing = true;
    });
    if (parts.length === 0) return '';
    drawnLines += 1;
    const stroke = ramp((line.colorValue - colorRange[0]) / (colorRange[1] - colorRange[0] || 1));
    return `<path class="trial-line${line.highlight ? ' highlight' : ''}" stroke="${stroke}" d="${parts.join('')}"><title>${escapeHtml(line.label)}</title></path>`;
  });
  const axesSvg = spec.axes.map((axis, index) => {
    const ax = px(axisX(index));
    const ticks = (scales[index]?.ticks ?? [])
      .map((tick) => `<text class="tick halo" x="${Number(ax) - 5}" y="${px(tick.position)}" text-anchor="end" dominant-baseline="middle">${escapeHtml(tick.label)}</text>`)
      .join('');
    return `<line class="axis" x1="${ax}" x2="${ax}" y1="${TOP}" y2="${BOTTOM}"/>${ticks}`
      + `<text class="axis-title" x="${ax}" y="${TOP - 16}" text-anchor="middle">${escapeHtml(axis.name)}</text>`;
  });
  const svg = `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(spec.title)}">`
    + `<g class="plot" data-points="${drawnLines}">${paths.join('')}</g>${axesSvg.join('')}`
    + `<text class="tick" x="${RAMP_X - 6}" y="${HEIGHT - 8}" text-anchor="end">${escapeHtml(`${spec.colorLabel}: ${formatNumber(colorRange[0])}`)}</text>`
    + `<rect x="${RAMP_X}" y="${HEIGHT - 18}" width="120" height="10" fill="url(#ramp-${escapeHtml(spec.id)})"/>`
    + `<text class="tick" x="${RAMP_X + 126}" y="${HEIGHT - 8}">${escapeHtml(formatNumber(colorRange[1]))}</text>`
    + `<defs><linearGradient id="ramp-${escapeHtml(spec.id)}">${[0, 0.25, 0.5, 0.75, 1].map((offset) => `<stop offset="${offset}" stop-color="${ramp(offset)}"/>`).join('')}</linearGradient></defs>`
    + `</svg>`;
  return figure({ id: spec.id, title: spec.title, points: drawnLines, svg, note: spec.note, kind: 'parallel-coordinates' });
}

/** Per-axis placement of values and the ticks to label. */
function axisScale(
  axis: ParallelAxis,
  values: (number | string | undefined)[],
): { position: (value: number | string) => number | undefined; ticks: { position: number; label: string }[] } {
  if (axis.kind === 'categorical') {
    const choices = axis.choices ?? [...new Set(values.filter((value) => value !== undefined).map(String))];
    const gap = choices.length > 1 ? (BOTTOM - TOP) / (choices.length - 1) : 0;
    const at = (index: number): number => (choices.length > 1 ? BOTTOM - index * gap : (TOP + BOTTOM) / 2);
    return {
      position: (value) => {
        const index = choices.indexOf(String(value));
        return index < 0 ? undefined : at(index);
      },
      ticks: choices.map((choice, index) => ({ position: at(index), label: choice })),
    };
  }
  const numbers = values.filter((value): value is number => typeof value === 'number');
  const scale: Scale = axis.kind === 'log' ? logScale(extent(numbers), [BOTTOM, TOP]) : linearScale(extent(numbers), [BOTTOM, TOP], 4);
  return {
    position: (value) => (typeof value === 'number' ? scale(value) : undefined),
    ticks: scale.ticks.map((tick) => ({ position: scale(tick), label: formatNumber(tick) })),
  };
}

/** Viridis, sampled at five stops and interpolated: perceptually even, readable in grey. */
const VIRIDIS: [number, number, number][] = [
  [68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37],
];

/** Colour for `t` in [0, 1] on the viridis ramp. */
export function ramp(t: number): string {
  const clamped = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1) * (VIRIDIS.length - 1);
  const index = Math.min(Math.floor(clamped), VIRIDIS.length - 2);
  const fraction = clamped - index;
  const [a, b] = [VIRIDIS[index] as number[], VIRIDIS[index + 1] as number[]];
  const channel = (c: number): string => Math.round((a[c] as number) + ((b[c] as number) - (a[c] as number)) * fraction).toString(16).padStart(2, '0');
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}
