import { escapeHtml } from '../charts/svg.ts';
import { PAGE_SCRIPT } from './page-script.ts';

/**
 * The HTML shell of every report: one file, all CSS and JS inline, and a Content-Security-Policy that forbids
 * every network request, so the file opens offline and provably fetches nothing.
 */
const STYLE = `
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1400px; padding: 24px 28px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.subtitle { color: var(--muted); margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 140px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 14px; }
figure.chart { position: relative; margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px 6px; background: #fff; }
figure.chart.wide { grid-column: 1 / -1; }
figcaption { font-weight: 600; margin-bottom: 2px; }
figure svg { width: 100%; height: auto; display: block; }
svg line.grid { stroke: #eaeef2; stroke-width: 1; }
svg rect.frame { fill: none; stroke: #afb8c1; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg text.axis-title { font-size: 12px; fill: var(--ink); }
svg text.halo { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg text.point-tag { font-size: 11px; fill: var(--ink); paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg path.series { fill: none; stroke-width: 1.8; stroke-linejoin: round; }
svg path.series.faint { stroke-width: 1; opacity: 0.28; }
svg path.series.dashed { stroke-dasharray: 5 4; }
svg path.end-marker { stroke-width: 2.2; fill: none; }
svg path.trial-line { fill: none; stroke-width: 1.4; opacity: 0.75; }
svg path.trial-line.highlight { stroke-width: 3.5; opacity: 1; stroke: #d62728; }
svg line.axis { stroke: #57606a; }
svg line.reference { stroke: #57606a; stroke-dasharray: 3 3; }
svg text.reference-label { fill: #57606a; }
svg line.rule { stroke: #8c959f; stroke-width: 1; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: var(--muted); margin-top: 2px; }
.legend-item { display: inline-flex; align-items: center; gap: 5px; }
.swatch { display: inline-block; width: 16px; border-top: 3px solid; }
.swatch.dashed { border-top-style: dashed; }
.swatch.cross { border: none; width: auto; font-weight: 700; font-size: 15px; line-height: 1; }
.note { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
.readout { display: none; position: absolute; top: 30px; right: 22px; background: rgba(255,255,255,0.94); border: 1px solid var(--line); border-radius: 4px; padding: 4px 8px; font-size: 12px; font-variant-numeric: tabular-nums; pointer-events: none; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: right; }
th { background: var(--panel); position: sticky; top: 0; }
td.text, th.text { text-align: left; }
.completion { font-family: ui-monospace, monospace; white-space: pre-wrap; }
details.samples { margin: 6px 0; }
tr.best td { background: #fff8c5; font-weight: 600; }
.state { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; }
.state.COMPLETE { background: #dafbe1; } .state.PRUNED { background: #fff1e5; } .state.FAIL { background: #ffebe9; }
.state.RUNNING { background: #ddf4ff; } .state.WAITING { background: #eaeef2; }
details pre { background: var(--panel); padding: 10px; border-radius: 6px; overflow: auto; max-height: 420px; font-size: 12px; }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
`;

const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/**
 * A complete HTML document around `body`.
 *
 * @example
 * fs.writeFileSync('report.html', htmlPage({ title: 'Run ppo-1', subtitle: 'PPO on the preference task', body }));
 */
export function htmlPage(options: { title: string; subtitle?: string; body: string; generatedAt?: Date }): string {
  const generated = (options.generatedAt ?? new Date()).toISOString().replace('T', ' ').slice(0, 19);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<title>${escapeHtml(options.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(options.title)}</h1>
${options.subtitle ? `<p class="subtitle">${escapeHtml(options.subtitle)}</p>` : ''}
${options.body}
<footer>posttrain report, generated ${generated} UTC. Self-contained: no network needed.</footer>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** A titled section. */
export function section(title: string, content: string, id?: string): string {
  return `<section${id ? ` id="${escapeHtml(id)}"` : ''}><h2>${escapeHtml(title)}</h2>${content}</section>`;
}

/** Headline figures as cards. */
export function cards(entries: { label: string; value: string }[]): string {
  return `<div class="cards">${entries
    .map((entry) => `<div class="card"><div class="label">${escapeHtml(entry.label)}</div><div class="value">${escapeHtml(entry.value)}</div></div>`)
    .join('')}</div>`;
}

/** A table; cells are escaped text unless given as `{ html }`. Columns listed in `textColumns` are left-aligned. */
export function table(
  headers: string[],
  rows: { cells: (string | { html: string })[]; className?: string }[],
  textColumns: number[] = [0],
): string {
  const align = (index: number): string => (textColumns.includes(index) ? ' class="text"' : '');
  const head = headers.map((header, index) => `<th${align(index)}>${escapeHtml(header)}</th>`).join('');
  const body = rows
    .map((row) => `<tr${row.className ? ` class="${row.className}"` : ''}>${row.cells
      .map((cell, index) => `<td${align(index)}>${typeof cell === 'string' ? escapeHtml(cell) : cell.html}</td>`)
      .join('')}</tr>`)
    .join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
