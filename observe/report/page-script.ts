/**
 * The report's only script, inlined into the page. It does two things:
 *
 * 1. checks that every chart drew its data: for each `figure.chart` it sums the `data-points` of the SVG elements
 *    that have a non-empty box on screen and writes the sum to `data-rendered` (the browser test compares it with
 *    `data-points`, which the generator wrote), then sets `data-report-ready` on `<body>`;
 * 2. a hover readout on x/y charts: a vertical rule and the nearest value of each series.
 *
 * Plain ES5-level browser JavaScript in a string: it runs in the reader's browser, not in Node.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  function rendered(figure) {
    var total = 0;
    figure.querySelectorAll('svg [data-points]').forEach(function (element) {
      var box = element.getBBox();
      if (box.width > 0 || box.height > 0) total += Number(element.getAttribute('data-points'));
    });
    return total;
  }
  function nearest(points, x) {
    var best = null, distance = Infinity;
    for (var i = 0; i < points.length; i++) {
      if (points[i][1] === null) continue;
      var d = Math.abs(points[i][0] - x);
      if (d < distance) { distance = d; best = points[i]; }
    }
    return best;
  }
  function format(value) {
    if (value === null || value === undefined) return '-';
    var magnitude = Math.abs(value);
    if (value !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)) return value.toExponential(3);
    return String(Number(value.toPrecision(4)));
  }
  function hover(figure) {
    var holder = figure.querySelector('script.chart-data');
    var svg = figure.querySelector('svg');
    if (!holder || !svg) return;
    var data = JSON.parse(holder.textContent);
    if (!data.series.length) return;
    var layer = svg.querySelector('g.hover');
    var readout = document.createElement('div');
    readout.className = 'readout';
    figure.appendChild(readout);
    var toData = function (pixel, axis) {
      var t = (pixel - axis.range[0]) / (axis.range[1] - axis.range[0]);
      if (axis.log) return Math.pow(10, Math.log10(axis.domain[0]) + t * (Math.log10(axis.domain[1]) - Math.log10(axis.domain[0])));
      return axis.domain[0] + t * (axis.domain[1] - axis.domain[0]);
    };
    var toPixel = function (value, axis) {
      if (axis.log) return axis.range[0] + (Math.log10(value) - Math.log10(axis.domain[0])) / (Math.log10(axis.domain[1]) - Math.log10(axis.domain[0])) * (axis.range[1] - axis.range[0]);
      return axis.range[0] + (value - axis.domain[0]) / (axis.domain[1] - axis.domain[0]) * (axis.range[1] - axis.range[0]);
    };
    svg.addEventListener('mousemove', function (event) {
      var matrix = svg.getScreenCTM();
      if (!matrix) return;
      var point = svg.createSVGPoint();
      point.x = event.clientX; point.y = event.clientY;
      var local = point.matrixTransform(matrix.inverse());
      if (local.x < data.x.range[0] || local.x > data.x.range[1]) { readout.style.display = 'none'; layer.innerHTML = ''; return; }
      var x = toData(local.x, data.x);
      var rows = [];
      data.series.forEach(function (series) {
        var found = nearest(series.points, x);
        if (found) rows.push({ name: series.name, point: found, gap: Math.abs(toPixel(found[1], data.y) - local.y) });
      });
      if (!rows.length) return;
      // Many series (sweep trials): show the few nearest the pointer, not all of them.
      rows.sort(function (a, b) { return a.gap - b.gap; });
      rows = rows.slice(0, 6);
      var at = rows[0].point[0];
      var rule = toPixel(at, data.x);
      layer.innerHTML = '<line class="rule" x1="' + rule + '" x2="' + rule + '" y1="' + data.y.range[1] + '" y2="' + data.y.range[0] + '"/>';
      readout.textContent = '';
      var title = document.createElement('div');
      title.textContent = 'x = ' + format(at);
      readout.appendChild(title);
      rows.forEach(function (row) {
        var line = document.createElement('div');
        line.textContent = row.name + ': ' + format(row.point[1]);
        readout.appendChild(line);
      });
      readout.style.display = 'block';
    });
    svg.addEventListener('mouseleave', function () { readout.style.display = 'none'; layer.innerHTML = ''; });
  }
  document.querySelectorAll('figure.chart').forEach(function (figure) {
    figure.setAttribute('data-rendered', String(rendered(figure)));
    hover(figure);
  });
  document.body.setAttribute('data-report-ready', 'true');
})();
`;
