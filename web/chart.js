// chart.js - a simple SVG chart of a result: bar, line or scatter of one numeric column against
// another column, for results people would rather look at than read.

const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*)$/;
export const isNumeric = type => NUMERIC.test(type || '');

function fmt(v) {
  if (Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-3 && v !== 0)) return v.toExponential(2);
  return String(Math.round(v * 1000) / 1000);
}

// Draw rows (arrays) into "container": x is a column index, y a numeric column index.
export function drawChart(container, kind, columns, rows, x, y) {
  const W = 760, H = 320, L = 64, R = 16, T = 16, B = 48;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
                         'aria-label': `${kind} chart of ${columns[y].name} by ${columns[x].name}` });
  const pts = rows.slice(0, 5000).map(r => [r[x], Number(r[y])]).filter(p => Number.isFinite(p[1]));
  if (!pts.length) { container.replaceChildren(document.createTextNode('no numeric values to chart')); return; }
  const ys = pts.map(p => p[1]);
  const ymin = Math.min(0, ...ys), ymax = Math.max(...ys) || 1;
  const sy = v => T + (H - T - B) * (1 - (v - ymin) / (ymax - ymin || 1));
  const numericX = kind !== 'bar' && isNumeric(columns[x].type);
  let sx;
  if (numericX) {
    const xs = pts.map(p => Number(p[0]));
    const xmin = Math.min(...xs), xmax = Math.max(...xs);
    sx = v => L + (W - L - R) * ((Number(v) - xmin) / (xmax - xmin || 1));
  } else {
    const step = (W - L - R) / pts.length;
    sx = (v, i) => L + step * (i + 0.5);
  }
  svg.append(el('line', { x1: L, y1: sy(ymin), x2: W - R, y2: sy(ymin), class: 'axis' }),
             el('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
  for (let k = 0; k <= 4; k++) {
    const v = ymin + (ymax - ymin) * k / 4;
    svg.append(el('text', { x: L - 6, y: sy(v) + 4, class: 'tick', 'text-anchor': 'end' }, fmt(v)));
  }
  if (kind === 'bar') {
    const w = Math.max(1, (W - L - R) / pts.length * 0.8);
    pts.forEach((p, i) => {
      const rect = el('rect', { x: sx(p[0], i) - w / 2, y: Math.min(sy(p[1]), sy(0)), width: w,
                                height: Math.abs(sy(0) - sy(p[1])), class: 'bar' });
      rect.append(el('title', {}, `${p[0]}: ${p[1]}`));
      svg.append(rect);
    });
  } else if (kind === 'line') {
    const sorted = numericX ? pts.slice().sort((a, b) => Number(a[0]) - Number(b[0])) : pts;
    svg.append(el('polyline', { points: sorted.map((p, i) => `${sx(p[0], i)},${sy(p[1])}`).join(' '), class: 'line' }));
  } else {
    pts.forEach((p, i) => {
      const c = el('circle', { cx: sx(p[0], i), cy: sy(p[1]), r: 3, class: 'dot' });
      c.append(el('title', {}, `${p[0]}: ${p[1]}`));
      svg.append(c);
    });
  }
  const labelEvery = Math.ceil(pts.length / 12);
  if (!numericX) pts.forEach((p, i) => {
    if (i % labelEvery === 0)
      svg.append(el('text', { x: sx(p[0], i), y: H - B + 16, class: 'tick', 'text-anchor': 'middle' },
                    String(p[0]).slice(0, 12)));
  });
  svg.append(el('text', { x: (W + L) / 2, y: H - 6, class: 'label', 'text-anchor': 'middle' }, columns[x].name),
             el('text', { x: 14, y: (H - B) / 2, class: 'label', transform: `rotate(-90 14 ${(H - B) / 2})`,
                          'text-anchor': 'middle' }, columns[y].name));
  container.replaceChildren(svg);
}
