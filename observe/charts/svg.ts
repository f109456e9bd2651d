import { formatNumber, type Scale } from './scale.ts';

/** The plotting area inside a chart's SVG viewBox. */
export interface Layout {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Default chart size in viewBox units; CSS scales it to the page. */
export const LAYOUT: Layout = { width: 640, height: 280, left: 58, right: 16, top: 14, bottom: 40 };

/** Size of a chart that spans a whole row: wider, so its text is not magnified. */
export const WIDE_LAYOUT: Layout = { width: 1100, height: 400, left: 64, right: 20, top: 16, bottom: 44 };

/** Tableau 10: distinct hues that stay readable for common colour-vision deficiencies. */
export const PALETTE = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
];

/** Colour `index` of the palette, cycling. */
export function color(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}

/**
 * Escape text for HTML and SVG content and attribute values.
 *
 * @example
 * escapeHtml('<b> & "q"'); // '&lt;b&gt; &amp; &quot;q&quot;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ENTITIES[character] as string);
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Pixel coordinates with two decimals: enough for a 640-unit viewBox, half the bytes of full precision. */
export function px(value: number): string {
  return String(Math.round(value * 100) / 100);
}

/** Grid lines, tick labels and axis titles for an x/y chart. */
export function axes(x: Scale, y: Scale, layout: Layout, labels: { x: string; y?: string }, xTickFormat = formatNumber): string {
  const plotBottom = layout.height - layout.bottom;
  const plotRight = layout.width - layout.right;
  const parts: string[] = [];
  for (const tick of y.ticks) {
    const ty = px(y(tick));
    parts.push(`<line class="grid" x1="${layout.left}" x2="${plotRight}" y1="${ty}" y2="${ty}"/>`);
    parts.push(`<text class="tick" x="${layout.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${escapeHtml(formatNumber(tick))}</text>`);
  }
  for (const tick of x.ticks) {
    const tx = px(x(tick));
    parts.push(`<line class="grid" x1="${tx}" x2="${tx}" y1="${layout.top}" y2="${plotBottom}"/>`);
    parts.push(`<text class="tick" x="${tx}" y="${plotBottom + 15}" text-anchor="middle">${escapeHtml(xTickFormat(tick))}</text>`);
  }
  parts.push(`<rect class="frame" x="${layout.left}" y="${layout.top}" width="${plotRight - layout.left}" height="${plotBottom - layout.top}"/>`);
  parts.push(`<text class="axis-title" x="${(layout.left + plotRight) / 2}" y="${layout.height - 4}" text-anchor="middle">${escapeHtml(labels.x)}</text>`);
  if (labels.y) {
    const middle = (layout.top + plotBottom) / 2;
    parts.push(`<text class="axis-title" transform="translate(12 ${middle}) rotate(-90)" text-anchor="middle">${escapeHtml(labels.y)}</text>`);
  }
  return parts.join('');
}

/** An HTML legend: a swatch and a name per entry. */
export function legend(entries: { name: string; color: string; dashed?: boolean; marker?: 'cross' }[]): string {
  if (entries.length === 0) return '';
  const items = entries.map((entry) => {
    const swatch = entry.marker === 'cross'
      ? `<span class="swatch cross" style="color:${entry.color}">&#215;</span>`
      : `<span class="swatch${entry.dashed ? ' dashed' : ''}" style="border-color:${entry.color}"></span>`;
    return `<span class="legend-item">${swatch}${escapeHtml(entry.name)}</span>`;
  });
  return `<div class="legend">${items.join('')}</div>`;
}

/** The `<figure>` every chart is wrapped in; `points` is how many data points it draws (read by tests and the page). */
export function figure(spec: { id: string; title: string; points: number; svg: string; after?: string; note?: string; kind: string; wide?: boolean }): string {
  const note = spec.note ? `<p class="note">${escapeHtml(spec.note)}</p>` : '';
  return `<figure class="chart${spec.wide ? ' wide' : ''}" id="chart-${escapeHtml(spec.id)}" data-chart="${escapeHtml(spec.id)}" data-kind="${spec.kind}" data-points="${spec.points}">`
    + `<figcaption>${escapeHtml(spec.title)}</figcaption>${spec.svg}${spec.after ?? ''}${note}</figure>`;
}
