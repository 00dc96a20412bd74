// grid.js - a results grid that scrolls through any number of rows: only the rows in view are in
// the page (virtual scrolling), the header stays on top, NULLs are shown as NULL.

const ROW_HEIGHT = 24;
const OVERSCAN = 10;

function cellText(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export class Grid {
  // columns: [{name, type}]; rows are arrays in column order.
  constructor(container) {
    this.root = document.createElement('div');
    this.root.className = 'grid';
    this.root.tabIndex = 0;
    this.root.setAttribute('role', 'grid');
    this.head = document.createElement('div');
    this.head.className = 'grid-head';
    this.body = document.createElement('div');
    this.body.className = 'grid-body';
    this.spacer = document.createElement('div');
    this.spacer.className = 'grid-spacer';
    this.view = document.createElement('div');
    this.view.className = 'grid-rows';
    this.body.append(this.spacer, this.view);
    this.root.append(this.head, this.body);
    container.replaceChildren(this.root);
    this.columns = [];
    this.rows = [];
    this.widths = [];
    this.pending = false;
    this.body.addEventListener('scroll', () => {
      this.head.scrollLeft = this.body.scrollLeft;
      this.schedule();
    });
    new ResizeObserver(() => this.schedule()).observe(this.body);
  }

  setColumns(columns) {
    this.columns = columns;
    this.rows.length = 0;
    this.widths = columns.map(c => Math.min(360, Math.max(80, 9 * Math.max(c.name.length, (c.type || '').length) + 24)));
    this.head.replaceChildren(...columns.map((c, i) => {
      const h = document.createElement('div');
      h.className = 'cell head-cell';
      h.style.width = this.widths[i] + 'px';
      h.title = c.name + ' ' + (c.type || '');
      const name = document.createElement('span');
      name.textContent = c.name;
      const type = document.createElement('span');
      type.className = 'col-type';
      type.textContent = c.type || '';
      h.append(name, type);
      return h;
    }));
    this.schedule();
  }

  // Add rows (arrays); cheap to call per streamed chunk.
  append(rows) {
    for (const r of rows) this.rows.push(r);
    if (this.rows.length <= 200) this.fitWidths(rows);
    this.schedule();
  }

  fitWidths(rows) {
    let changed = false;
    for (const r of rows) {
      r.forEach((v, i) => {
        const t = cellText(v);
        const w = Math.min(360, 8 * (t === null ? 4 : t.length) + 20);
        if (w > this.widths[i]) { this.widths[i] = w; changed = true; }
      });
    }
    if (changed) this.head.childNodes.forEach((h, i) => { h.style.width = this.widths[i] + 'px'; });
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.render(); });
  }

  render() {
    const total = this.rows.length;
    const width = this.widths.reduce((a, b) => a + b, 0);
    this.spacer.style.height = total * ROW_HEIGHT + 'px';
    this.spacer.style.width = width + 'px';
    const top = this.body.scrollTop, height = this.body.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const row = document.createElement('div');
      row.className = 'grid-row' + (i % 2 ? ' odd' : '');
      row.style.top = i * ROW_HEIGHT + 'px';
      row.setAttribute('role', 'row');
      this.rows[i].forEach((v, c) => {
        const cell = document.createElement('div');
        const t = cellText(v);
        cell.className = 'cell' + (t === null ? ' null' : typeof v === 'number' ? ' num' : '');
        cell.style.width = this.widths[c] + 'px';
        cell.textContent = t === null ? 'NULL' : t;
        row.appendChild(cell);
      });
      frag.appendChild(row);
    }
    this.view.replaceChildren(frag);
    this.view.style.width = width + 'px';
  }
}
