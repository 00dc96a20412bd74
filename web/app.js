// app.js - the tarn console: tables, a table's schema and snapshot timeline, SQL with a results
// grid and charts, uploads, and maintenance. It uses only tarn's public HTTP API (api.js).

import * as api from './api.js';
import { Grid } from './grid.js';
import { Editor } from './editor.js';
import { drawChart, isNumeric } from './chart.js';

const $ = (sel, root) => (root || document).querySelector(sel);
const main = () => $('#main');

// h('tag.class', {attr}, ...children): a small element builder; strings become text nodes.
function h(spec, attrs, ...children) {
  const [head, ...classes] = spec.split('.');
  const [tag, id] = head.split('#');
  const e = document.createElement(tag);
  if (id) e.id = id;
  if (classes.length) e.className = classes.join(' ');
  for (const k in attrs || {}) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), attrs[k]);
    else if (attrs[k] !== undefined && attrs[k] !== null && attrs[k] !== false) e.setAttribute(k, attrs[k]);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const fmtBytes = n => {
  n = Number(n || 0);
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
};
const fmtTime = ms => (ms === null || ms === undefined) ? '-' : new Date(Number(ms)).toLocaleString();
const fmtNum = n => (n === null || n === undefined) ? '-' : Number(n).toLocaleString();

/*---- Errors and notices ----*/

// Show an API error as the server wrote it: status, type and message.
function showError(err, where) {
  const box = h('div.notice.error', { role: 'alert' },
    h('strong', {}, (err.status ? err.status + ' ' : '') + (err.type || 'Error')),
    h('span', {}, ' ' + (err.message || String(err))),
    h('button.link', { onclick: () => box.remove(), 'aria-label': 'dismiss' }, '×'));
  (where || $('#notices')).prepend(box);
  return box;
}
function showInfo(text) {
  const box = h('div.notice.info', { role: 'status' }, text,
    h('button.link', { onclick: () => box.remove(), 'aria-label': 'dismiss' }, '×'));
  $('#notices').prepend(box);
  setTimeout(() => box.remove(), 6000);
}
async function guarded(fn, where) {
  try { return await fn(); } catch (e) { if (e.name !== 'AbortError') showError(e, where); return undefined; }
}
function confirmAction(text) { return window.confirm(text); }

/*---- Login ----*/

function showLogin(reason) {
  if ($('#login')) return;
  const input = h('input', { type: 'password', id: 'token-input', autocomplete: 'current-password',
                             placeholder: 'bearer token', 'aria-label': 'token' });
  const form = h('form.login-box', {
    onsubmit: e => {
      e.preventDefault();
      api.setToken(input.value.trim());
      $('#login').remove();
      route();
    },
  }, h('h2', {}, 'Sign in to tarn'),
     h('p.muted', {}, reason || 'This server requires a token (tarn serve --token).'),
     input, h('button.primary', { type: 'submit' }, 'Sign in'));
  document.body.append(h('div#login.overlay', { id: 'login' }, form));
  input.focus();
}
api.onAuthNeeded(err => showLogin(err.message));

/*---- Shared data: the table list, used by several views and by completion ----*/

let tables = [];
const columnsByTable = new Map();

async function loadTables() {
  const body = await api.get('/tables');
  tables = body.tables || [];
  return tables;
}
const qualified = t => (t.namespace === 'default' ? t.name : t.namespace + '.' + t.name);

async function tableColumns(name) {
  if (!columnsByTable.has(name)) {
    const t = await api.get('/tables/' + encodeURIComponent(name));
    columnsByTable.set(name, (t.schema.fields || []).map(f => f.name));
  }
  return columnsByTable.get(name);
}

/*---- Tables ----*/

async function viewTables() {
  const search = h('input.search', { type: 'search', placeholder: 'search tables', 'aria-label': 'search tables' });
  const tbody = h('tbody');
  const draw = () => {
    const q = search.value.toLowerCase();
    tbody.replaceChildren(...tables.filter(t => qualified(t).toLowerCase().includes(q)).map(t =>
      h('tr', {},
        h('td', {}, h('a', { href: '#/table/' + encodeURIComponent(qualified(t)) }, qualified(t))),
        h('td', {}, t.format || 'iceberg'),
        h('td.num', {}, fmtNum(t.live_rows !== undefined ? t.live_rows : t.rows)),
        h('td.num', {}, fmtNum(t.data_files)),
        h('td.num', {}, fmtBytes(t.bytes)),
        h('td', {}, fmtTime(t.last_updated_ms)))));
    if (!tbody.childNodes.length)
      tbody.append(h('tr', {}, h('td.muted', { colspan: 6 }, tables.length ? 'no table matches' :
        'no tables yet: upload a file to create one')));
  };
  search.addEventListener('input', draw);
  main().replaceChildren(h('section', {},
    h('div.toolbar', {}, h('h1', {}, 'Tables'), search, h('a.button', { href: '#/upload' }, 'Upload a file')),
    h('table.list', { id: 'tables' },
      h('thead', {}, h('tr', {}, ...['table', 'format', 'rows', 'files', 'size', 'last change'].map(c => h('th', {}, c)))),
      tbody)));
  await guarded(loadTables);
  draw();
  search.focus();
}

/*---- One table ----*/

function schemaTable(schema, identifierIds) {
  const rows = [];
  const walk = (fields, prefix, depth) => {
    for (const f of fields || []) {
      const type = typeof f.type === 'string' ? f.type : f.type.type;
      rows.push(h('tr', {},
        h('td.num', {}, f.id),
        h('td', { style: `padding-left:${0.5 + depth * 1.2}em` }, prefix + f.name),
        h('td', {}, type),
        h('td', {}, f.required ? 'required' : 'optional'),
        h('td', {}, identifierIds.includes(f.id) ? 'key' : ''),
        h('td.muted', {}, f.doc || '')));
      if (typeof f.type === 'object') {
        if (f.type.type === 'struct') walk(f.type.fields, '', depth + 1);
        if (f.type.type === 'list')
          rows.push(h('tr.muted', {}, h('td.num', {}, f.type['element-id']), h('td', { style: `padding-left:${0.5 + (depth + 1) * 1.2}em` }, 'element'),
                      h('td', {}, JSON.stringify(f.type.element)), h('td', {}, f.type['element-required'] ? 'required' : 'optional'), h('td'), h('td')));
        if (f.type.type === 'map')
          rows.push(h('tr.muted', {}, h('td'), h('td', { style: `padding-left:${0.5 + (depth + 1) * 1.2}em` }, 'key, value'),
                      h('td', {}, JSON.stringify(f.type.key) + ', ' + JSON.stringify(f.type.value)), h('td'), h('td'), h('td')));
      }
    }
  };
  walk(schema.fields, '', 0);
  return h('table.list', { id: 'schema' },
    h('thead', {}, h('tr', {}, ...['id', 'name', 'type', '', 'identifier', 'original name / doc'].map(c => h('th', {}, c)))),
    h('tbody', {}, rows));
}

function kv(obj) {
  const keys = Object.keys(obj || {});
  if (!keys.length) return h('p.muted', {}, 'none');
  return h('table.list', {}, h('tbody', {}, keys.map(k => h('tr', {}, h('td', {}, k), h('td', {}, String(obj[k]))))));
}

function specText(spec, schema) {
  const names = new Map();
  const walk = fs => (fs || []).forEach(f => { names.set(f.id, f.name); if (f.type && f.type.fields) walk(f.type.fields); });
  walk(schema.fields);
  if (!spec.fields || !spec.fields.length) return 'unpartitioned';
  return spec.fields.map(f => f.transform === 'identity' ? names.get(f['source-id']) :
                         `${f.transform}(${names.get(f['source-id'])})`).join(', ');
}

// A small result grid (all rows in view) for samples and diffs.
function resultGrid(res, id) {
  const box = h('div.grid-box', { id });
  const g = new Grid(box);
  g.setColumns(res.columns);
  g.append(res.rows);
  return box;
}

async function viewTable(name) {
  const t = await api.get('/tables/' + encodeURIComponent(name));
  const ref = api.tableRef(t.namespace, t.name);
  const snaps = (await api.get('/tables/' + encodeURIComponent(name) + '/snapshots')).snapshots || [];
  const refs = await guarded(() => api.query(`SELECT name, type, snapshot_id FROM ${api.tableRef(t.namespace, t.name + '$refs')} ORDER BY name`));
  const detail = h('div#snapshot-detail', { id: 'snapshot-detail' });
  const current = String(t.current_snapshot_id);

  const timeline = h('ol.timeline', { id: 'timeline' }, snaps.slice().reverse().map(s => {
    const sum = s.summary || {};
    const added = Number(sum['added-records'] || 0), deleted = Number(sum['deleted-records'] || 0) + Number(sum['added-position-deletes'] || 0);
    const item = h('li', { tabindex: 0, 'data-snapshot': String(s.snapshot_id), class: String(s.snapshot_id) === current ? 'current' : '' },
      h('span.when', {}, fmtTime(s.timestamp_ms)),
      h('span.op', {}, s.operation || sum.operation || ''),
      h('span.muted', {}, `+${fmtNum(added)} / −${fmtNum(deleted)} rows, ${fmtNum(sum['added-data-files'] || 0)} files`),
      h('code.muted', {}, String(s.snapshot_id)));
    const open = () => {
      timeline.querySelectorAll('li').forEach(li => li.classList.toggle('selected', li === item));
      guarded(() => showSnapshot(t, ref, s, snaps, detail), detail);
    };
    item.addEventListener('click', open);
    item.addEventListener('keydown', e => { if (e.key === 'Enter') open(); });
    return item;
  }));

  const sample = h('div', {}, h('p.muted', {}, 'loading…'));
  main().replaceChildren(h('section', {},
    h('div.toolbar', {}, h('h1', {}, qualified(t)),
      h('a.button', { href: '#/sql?q=' + encodeURIComponent(`SELECT * FROM ${ref} LIMIT 100`) }, 'Query'),
      h('a.button', { href: '#/maintenance/' + encodeURIComponent(name) }, 'Maintenance')),
    h('p.muted', {}, `format version ${t.format_version} · ${t.location} · current snapshot ${t.current_snapshot_id ?? 'none'}`),
    h('div.columns', {},
      h('div', {},
        h('h2', {}, 'Schema'), schemaTable(t.schema, t.identifier_fields_ids || t.schema['identifier-field-ids'] || []),
        h('h2', {}, 'Partitioning'),
        h('ul', {}, (t.partition_specs || [t.partition_spec]).map(sp =>
          h('li', {}, `spec ${sp['spec-id']}: ${specText(sp, t.schema)}` + (sp['spec-id'] === t.partition_spec['spec-id'] ? ' (default)' : '')))),
        t.sort_order ? h('div', {}, h('h2', {}, 'Sort order'), h('pre', {}, JSON.stringify(t.sort_order))) : null,
        h('h2', {}, 'Properties'), kv(t.properties),
        h('h2', {}, 'Tags and branches'),
        refs ? resultGrid(refs, 'refs') : h('p.muted', {}, 'unavailable')),
      h('div', {},
        h('h2', {}, 'Snapshots'), snaps.length ? timeline : h('p.muted', {}, 'no snapshots yet'), detail)),
    h('h2', {}, 'Sample rows'), sample));
  const rows = await guarded(() => api.query(`SELECT * FROM ${ref} LIMIT 50`), sample);
  sample.replaceChildren(rows ? resultGrid(rows, 'sample') : h('p.muted', {}, 'no sample'));
}

// The table as it was at snapshot "s", and what changed from its parent.
async function showSnapshot(t, ref, s, snaps, detail) {
  const id = String(s.snapshot_id), parent = s.parent_id === null ? null : String(s.parent_id);
  const at = v => `${ref} AT (VERSION => ${v})`;
  detail.replaceChildren(h('p.muted', {}, 'loading snapshot ' + id + '…'));
  const [rows, cols] = await Promise.all([
    api.query(`SELECT * FROM ${at(id)} LIMIT 50`),
    api.query(`DESCRIBE SELECT * FROM ${at(id)}`),
  ]);
  const parts = [h('h3', {}, `As of ${fmtTime(s.timestamp_ms)} (${s.operation})`), resultGrid(rows, 'snapshot-rows')];
  if (parent) {
    const pcols = await api.query(`DESCRIBE SELECT * FROM ${at(parent)}`);
    const now = new Map(cols.rows.map(r => [r[0], r[1]])), before = new Map(pcols.rows.map(r => [r[0], r[1]]));
    const changes = [];
    for (const [n, ty] of now) if (!before.has(n)) changes.push(`added column ${n} ${ty}`);
      else if (before.get(n) !== ty) changes.push(`column ${n}: ${before.get(n)} → ${ty}`);
    for (const n of before.keys()) if (!now.has(n)) changes.push(`removed column ${n}`);
    const common = [...now.keys()].filter(n => before.has(n)).map(api.quoteIdent).join(', ');
    parts.push(h('h3', {}, 'Schema changes'), changes.length ? h('ul', {}, changes.map(c => h('li', {}, c))) : h('p.muted', {}, 'none'));
    if (common) {
      const [added, removed] = await Promise.all([
        api.query(`SELECT ${common} FROM ${at(id)} EXCEPT ALL SELECT ${common} FROM ${at(parent)} LIMIT 50`),
        api.query(`SELECT ${common} FROM ${at(parent)} EXCEPT ALL SELECT ${common} FROM ${at(id)} LIMIT 50`),
      ]);
      parts.push(h('h3', {}, `Rows added (${added.rows.length}${added.rows.length === 50 ? '+' : ''})`), resultGrid(added, 'rows-added'),
                 h('h3', {}, `Rows removed (${removed.rows.length}${removed.rows.length === 50 ? '+' : ''})`), resultGrid(removed, 'rows-removed'));
    }
  } else {
    parts.push(h('p.muted', {}, 'the first snapshot: every row was added'));
  }
  const tagName = h('input', { placeholder: 'tag or branch name', 'aria-label': 'ref name', id: 'ref-name' });
  const path = '/tables/' + encodeURIComponent(qualified(t));
  const act = async (what, body, url, text) => {
    if (!confirmAction(text)) return;
    await guarded(async () => {
      await api.post(url, body);
      await route();
      showInfo(what + ' done');
    }, detail);
  };
  parts.push(h('div.actions', {},
    h('button.danger', { id: 'rollback', onclick: () => act('rollback', { snapshot_id: id }, path + '/rollback',
      `Roll ${qualified(t)} back to snapshot ${id}? History is kept; this adds a new current-snapshot pointer.`) }, 'Roll back to this snapshot'),
    tagName,
    h('button', { onclick: () => tagName.value && act('tag', { name: tagName.value, type: 'tag', snapshot_id: id }, path + '/refs',
      `Tag snapshot ${id} as "${tagName.value}"?`) }, 'Tag'),
    h('button', { onclick: () => tagName.value && act('branch', { name: tagName.value, type: 'branch', snapshot_id: id }, path + '/refs',
      `Create or move branch "${tagName.value}" to snapshot ${id}?`) }, 'Branch')));
  detail.replaceChildren(...parts);
  void snaps;
}

/*---- SQL ----*/

const HISTORY_KEY = 'tarn.history';
let editor = null;
let running = null;

function history() { try { return JSON.parse(sessionStorage.getItem(HISTORY_KEY)) || []; } catch (e) { return []; } }
function remember(sql) {
  const list = [sql, ...history().filter(s => s !== sql)].slice(0, 50);
  sessionStorage.setItem(HISTORY_KEY, JSON.stringify(list));
}

const READ_ONLY = /^\s*(select|with|from|values|table|pivot|unpivot|show|describe|summarize)\b/i;

async function runSql(sql, ui) {
  if (!sql.trim()) return;
  if (running) running.abort();
  const ctrl = new AbortController();
  running = ctrl;
  remember(sql);
  ui.history();
  ui.status.textContent = 'running…';
  ui.cancel.disabled = false;
  ui.chartBox.replaceChildren();
  const t0 = performance.now();
  const grid = new Grid(ui.results);
  ui.last = { sql, columns: [], rows: grid.rows };
  try {
    if (READ_ONLY.test(sql) && !/^\s*(show|describe|summarize)\b/i.test(sql)) {
      // Column names and types first, then the rows as they stream in.
      const desc = await api.query('DESCRIBE ' + sql, null, ctrl.signal);
      const columns = desc.rows.map(r => ({ name: r[0], type: r[1] }));
      const unique = new Set(columns.map(c => c.name)).size === columns.length;
      grid.setColumns(columns);
      ui.last.columns = columns;
      if (unique) {
        let batch = [];
        const names = columns.map(c => c.name);
        const limit = 200000;
        const n = await api.queryStream(sql, { limit }, row => {
          batch.push(names.map(k => row[k]));
          if (batch.length >= 2000) { grid.append(batch); batch = []; ui.status.textContent = `${fmtNum(grid.rows.length)} rows…`; }
        }, ctrl.signal);
        grid.append(batch);
        ui.status.textContent = `${fmtNum(n)} rows${n >= limit ? ' (first ' + fmtNum(limit) + ')' : ''} in ${((performance.now() - t0) / 1000).toFixed(3)} s`;
      } else {
        const res = await api.query(sql, null, ctrl.signal);
        grid.append(res.rows);
        ui.status.textContent = `${fmtNum(res.row_count)} rows${res.truncated ? ' (truncated)' : ''} in ${((performance.now() - t0) / 1000).toFixed(3)} s`;
      }
      const plan = await api.query('EXPLAIN ' + sql, null, ctrl.signal).catch(() => null);
      ui.plan.replaceChildren(...((plan && plan.plan) || []).map(p =>
        h('span.pill', {}, `${p.table}: ${p.data_files_kept} of ${p.data_files_total} files read` +
          (p.data_files_total - p.data_files_kept ? ` (${p.data_files_total - p.data_files_kept} pruned)` : '') +
          `, ${p.manifests_kept} of ${p.manifests_total} manifests`)));
      ui.chartControls(ui.last.columns);
    } else {
      const res = await api.query(sql, null, ctrl.signal);
      const elapsed = ((performance.now() - t0) / 1000).toFixed(3);
      if (res.columns) {
        grid.setColumns(res.columns);
        grid.append(res.rows);
        ui.last.columns = res.columns;
        ui.status.textContent = `${fmtNum(res.row_count)} rows in ${elapsed} s`;
        ui.plan.replaceChildren(...(res.plan || []).map(p => h('span.pill', {},
          `${p.table}: ${p.data_files_kept} of ${p.data_files_total} files, ${p.manifests_kept} of ${p.manifests_total} manifests`)));
        ui.chartControls(res.columns);
      } else {
        ui.results.replaceChildren(h('pre.result-json', {}, JSON.stringify(res, null, 2)));
        ui.status.textContent = `done in ${elapsed} s`;
        columnsByTable.clear();
        await loadTables().catch(() => {});
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') ui.status.textContent = 'cancelled';
    else { ui.status.textContent = 'failed'; showError(e, ui.errors); }
  } finally {
    if (running === ctrl) running = null;
    ui.cancel.disabled = true;
  }
}

async function viewSql(params) {
  const results = h('div.grid-box.tall', { id: 'results' });
  const status = h('span#status.muted', { id: 'status', 'aria-live': 'polite' });
  const plan = h('span#plan', { id: 'plan' });
  const errors = h('div');
  const cancel = h('button', { id: 'cancel', disabled: true, onclick: () => running && running.abort() }, 'Cancel');
  const historyList = h('ul.history', { id: 'history' });
  const chartBox = h('div.chart-box', { id: 'chart' });
  const chartBar = h('div.toolbar.small');
  const ui = { results, status, plan, errors, cancel, chartBox, last: null };
  ui.history = () => historyList.replaceChildren(...history().map(s =>
    h('li', {}, h('button.link', { onclick: () => { editor.value = s; editor.focus(); } }, s.length > 120 ? s.slice(0, 120) + '…' : s))));
  ui.chartControls = columns => {
    const numeric = columns.map((c, i) => [c, i]).filter(([c]) => isNumeric(c.type));
    if (!numeric.length || !ui.last.rows.length) { chartBar.replaceChildren(); return; }
    const opt = (list) => list.map(([c, i]) => h('option', { value: i }, c.name));
    const all = columns.map((c, i) => [c, i]);
    const kind = h('select', { 'aria-label': 'chart kind' }, ['bar', 'line', 'scatter'].map(k => h('option', {}, k)));
    const x = h('select', { 'aria-label': 'x column' }, opt(all));
    const y = h('select', { 'aria-label': 'y column' }, opt(numeric));
    if (all.length > 1 && numeric[0][1] === 0) y.value = String((numeric[1] || numeric[0])[1]);
    x.value = String(all.find(([, i]) => String(i) !== y.value)?.[1] ?? 0);
    chartBar.replaceChildren(h('span.muted', {}, 'chart:'), kind, x, y,
      h('button', { id: 'draw-chart', onclick: () => drawChart(chartBox, kind.value, ui.last.columns, ui.last.rows, Number(x.value), Number(y.value)) }, 'Draw'));
  };
  const dl = fmt => () => ui.last && guarded(() => api.download(ui.last.sql, fmt, null, 'result.' + (fmt === 'arrow' ? 'arrows' : fmt)), errors);
  const editorBox = h('div.editor-box');
  main().replaceChildren(h('section.sql', {},
    h('div.toolbar', {}, h('h1', {}, 'SQL'),
      h('button.primary', { id: 'run', onclick: () => runSql(editor.value, ui), title: 'Ctrl+Enter' }, 'Run'), cancel,
      h('button', { onclick: () => editor.value.trim() && runSql('EXPLAIN ' + editor.value.replace(/^\s*explain\s+/i, ''), ui) }, 'Explain'),
      h('span.spacer'),
      h('span.muted', {}, 'download:'),
      h('button', { onclick: dl('csv') }, 'CSV'), h('button', { onclick: dl('parquet') }, 'Parquet'), h('button', { onclick: dl('arrow') }, 'Arrow')),
    editorBox, h('div.toolbar.small', {}, status, plan), errors, results, chartBar, chartBox,
    h('details', {}, h('summary', {}, 'History'), historyList)));
  const words = [];
  editor = new Editor(editorBox, sql => runSql(sql, ui), () => words);
  editor.value = params.get('q') || history()[0] || 'SELECT 42 AS answer';
  ui.history();
  editor.focus();
  await guarded(loadTables);
  words.push(...tables.map(qualified));
  for (const t of tables.slice(0, 50)) {
    const cols = await tableColumns(qualified(t)).catch(() => []);
    words.push(...cols);
  }
}

/*---- Upload ----*/

// A preview of what an upload would store: tarn's own inference (POST /ingest?dry_run=true)
// over the start of the file, cut at a line end for line-based formats; nothing is committed.
const PREVIEW_BYTES = 256 * 1024, PREVIEW_WHOLE_MAX = 16 * 1024 * 1024;

async function previewSample(file) {
  const lineBased = /\.(csv|tsv|txt|ndjson|jsonl)$/i.test(file.name);
  if (file.size <= PREVIEW_BYTES || (!lineBased && file.size <= PREVIEW_WHOLE_MAX)) return file;
  if (!lineBased) return null;
  const head = new Uint8Array(await file.slice(0, PREVIEW_BYTES).arrayBuffer());
  const cut = head.lastIndexOf(10);
  return new File([head.subarray(0, cut > 0 ? cut + 1 : head.length)], file.name, { type: file.type });
}

async function previewFile(file, table) {
  const sample = await previewSample(file);
  if (!sample) return { note: 'too large to preview here: tarn infers its schema on commit' };
  const res = await api.upload(table || 'preview', sample, { dry_run: 'true' }, () => {});
  const stored = Object.entries(res.column_names || {});
  return {
    columns: res.schema.fields.map(f => ({ name: f.name, type: typeof f.type === 'string' ? f.type : f.type.type })),
    rows: res.rows,
    renamed: stored.filter(([orig, name]) => orig !== name),
    partial: sample !== file,
  };
}

function sanitizeName(fileName) {
  const base = fileName.replace(/\.(csv|tsv|json|ndjson|jsonl|parquet|txt)(\.(gz|zst))?$/i, '');
  const s = base.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 100);
  return /^[a-z_]/.test(s) ? s : 't_' + s;
}

function viewUpload() {
  let file = null;
  const name = h('input', { id: 'upload-table', placeholder: 'table (namespace.table)', 'aria-label': 'table name' });
  const mode = h('select', { id: 'upload-mode', 'aria-label': 'mode' },
    ['create', 'append', 'overwrite', 'upsert'].map(m => h('option', {}, m)));
  const key = h('input', { id: 'upload-key', placeholder: 'key column(s) for upsert', 'aria-label': 'key', hidden: true });
  mode.addEventListener('change', () => { key.hidden = mode.value !== 'upsert'; });
  const preview = h('div#preview', { id: 'preview' });
  const progress = h('progress', { id: 'upload-progress', max: 100, value: 0, hidden: true });
  const phase = h('span.muted', { id: 'upload-phase', 'aria-live': 'polite' });
  const result = h('div', { id: 'upload-result' });
  const errors = h('div');
  const commit = h('button.primary', { id: 'upload-commit', disabled: true }, 'Commit');
  const pick = h('input', { type: 'file', id: 'upload-file', accept: '.csv,.tsv,.json,.ndjson,.jsonl,.parquet,.gz,.zst,.txt' });
  const drop = h('div.dropzone', { id: 'dropzone', tabindex: 0 }, 'Drop a CSV, JSON, NDJSON or Parquet file here, or ', pick);

  const choose = async f => {
    file = f;
    if (!name.value) name.value = sanitizeName(f.name);
    commit.disabled = false;
    result.replaceChildren();
    preview.replaceChildren(h('h2', {}, `Preview of ${f.name} (${fmtBytes(f.size)})`), h('p.muted', {}, 'reading…'));
    const p = await guarded(() => previewFile(f, name.value), errors);
    if (!p) { preview.lastChild.remove(); return; }
    preview.lastChild.remove();
    if (p.note) preview.append(h('p.muted', {}, p.note));
    else {
      preview.append(h('p.muted', {}, 'the schema and first rows as tarn would store them' +
          (p.partial ? ' (inferred from the start of the file; the whole file is read on commit)' : '') + '; nothing is committed yet'),
        resultGrid({ columns: p.columns, rows: p.rows }, 'preview-grid'));
      if (p.renamed.length)
        preview.append(h('p', { id: 'preview-renamed' }, 'column names stored as: ' + p.renamed.map(([o, n]) => `${o} → ${n}`).join(', ')));
      await guarded(loadTables);
      const existing = tables.find(t => qualified(t) === name.value);
      if (existing) {
        const have = new Set(await tableColumns(name.value));
        const fresh = p.columns.map(c => c.name).filter(c => !have.has(c));
        preview.append(h('p', { id: 'preview-changes' }, `${name.value} exists; ` + (fresh.length ? `new columns: ${fresh.join(', ')}` : 'no new columns')));
        if (mode.value === 'create') mode.value = 'append';
      }
    }
  };
  pick.addEventListener('change', () => pick.files[0] && choose(pick.files[0]));
  drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', e => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) choose(e.dataTransfer.files[0]);
  });
  commit.addEventListener('click', async () => {
    if (!file || !name.value) return;
    await guarded(loadTables);
    if (mode.value === 'create' && tables.some(t => qualified(t) === name.value))
      return showError({ status: 409, type: 'AlreadyExistsException', message: `table ${name.value} already exists: choose append, overwrite or upsert` }, errors);
    const params = { mode: mode.value === 'create' ? 'append' : mode.value };
    if (mode.value === 'upsert' && key.value) params.key = key.value;
    progress.hidden = false;
    progress.value = 0;
    commit.disabled = true;
    phase.textContent = 'uploading…';
    const t0 = performance.now();
    try {
      const res = await api.upload(name.value, file, params, (sent, total) => {
        progress.value = total ? Math.round(100 * sent / total) : 0;
        phase.textContent = `uploading… ${fmtBytes(sent)} of ${fmtBytes(total)}`;
      }, () => { progress.removeAttribute('value'); phase.textContent = 'converting…'; });
      progress.value = 100;
      phase.textContent = `done in ${((performance.now() - t0) / 1000).toFixed(2)} s`;
      columnsByTable.clear();
      result.replaceChildren(h('h2', {}, `${res.table}: ${fmtNum(res.rows_added)} rows added` +
          (res.rows_updated ? `, ${fmtNum(res.rows_updated)} updated` : '') + (res.created ? ' (new table)' : '')),
        h('p', {}, 'schema changes: ' + ((res.schema_changes || []).length ? res.schema_changes.map(c => typeof c === 'string' ? c : JSON.stringify(c)).join('; ') : 'none')),
        schemaTable(res.schema, res.schema['identifier-field-ids'] || []),
        h('p', {}, h('a', { href: '#/table/' + encodeURIComponent(res.table.replace(/^default\./, '')) }, 'Open the table')));
    } catch (e) {
      progress.hidden = true;
      phase.textContent = 'failed';
      showError(e, errors);
    } finally {
      commit.disabled = false;
    }
  });
  main().replaceChildren(h('section', {},
    h('h1', {}, 'Upload'), drop,
    h('div.toolbar', {}, name, mode, key, commit, progress, phase),
    errors, preview, result));
}

/*---- Maintenance ----*/

async function viewMaintenance(name) {
  await guarded(loadTables);
  const select = h('select', { id: 'maint-table', 'aria-label': 'table' }, tables.map(t => h('option', {}, qualified(t))));
  if (name) select.value = name;
  const out = h('div', { id: 'maint-out' });
  const runs = h('div', { id: 'maint-runs' });
  const show = async () => {
    const n = select.value;
    if (!n) { out.replaceChildren(h('p.muted', {}, 'no tables')); return; }
    out.replaceChildren(h('p.muted', {}, 'looking…'));
    const path = '/tables/' + encodeURIComponent(n) + '/maintenance';
    const dry = action => api.post(path, { action, dry_run: true }).catch(e => ({ error: e }));
    const [compact, expire, orphans] = await Promise.all([dry('compact'), dry('expire_snapshots'), dry('remove_orphans')]);
    const run = (action, body, text) => async () => {
      if (!confirmAction(text)) return;
      await guarded(async () => {
        const r = await api.post('/tables/' + encodeURIComponent(n) + '/maintenance', Object.assign({ action }, body));
        showInfo(`${action}: ` + JSON.stringify(r));
        show();
      }, out);
    };
    out.replaceChildren(h('table.list', {}, h('tbody', {},
      h('tr', {}, h('td', {}, 'compact'),
        h('td', { id: 'compact-plan' }, compact.error ? compact.error.message :
          compact.files_rewritten || compact.delete_files_removed
            ? `would rewrite ${fmtNum(compact.files_rewritten)} data files (${fmtBytes(compact.bytes_rewritten)}, ` +
              `${fmtNum(compact.rows)} rows before deletes) and remove ${fmtNum(compact.delete_files_removed)} delete files`
            : 'nothing to compact'),
        h('td', {}, h('button', { id: 'run-compact', onclick: run('compact', {}, `Compact ${n}?`) }, 'Run'))),
      h('tr', {}, h('td', {}, 'expire snapshots'),
        h('td', { id: 'expire-plan' }, expire.error ? expire.error.message :
          `would expire ${fmtNum(expire.snapshots_expired)} snapshots older than 5 days (the default) and delete ` +
          `${fmtNum(expire.files_to_delete)} files; the current one is always kept`),
        h('td', {}, h('button', { onclick: run('expire_snapshots', {}, `Expire snapshots of ${n} older than 5 days?`) }, 'Run'))),
      h('tr', {}, h('td', {}, 'remove orphans'),
        h('td', { id: 'orphans' }, orphans.error ? orphans.error.message :
          `${fmtNum(orphans.orphans_found)} orphan files (${fmtBytes(orphans.bytes)}) older than 1 day; ${fmtNum(orphans.files_too_new || 0)} newer kept` +
          ((orphans.paths || []).length ? ': ' + orphans.paths.slice(0, 5).join(', ') : '')),
        h('td', {}, h('button', { onclick: run('remove_orphans', {}, `Delete orphan files of ${n}?`) }, 'Run'))),
      h('tr', {}, h('td', {}, 'rewrite manifests'), h('td', {}, 'merges manifests into one per kind'),
        h('td', {}, h('button', { onclick: run('rewrite_manifests', {}, `Rewrite the manifests of ${n}?`) }, 'Run'))))));
  };
  select.addEventListener('change', show);
  main().replaceChildren(h('section', {}, h('div.toolbar', {}, h('h1', {}, 'Maintenance'), select), out,
    h('h2', {}, 'Scheduled maintenance'), runs));
  const sched = await api.get('/maintenance/runs').catch(() => null);
  runs.replaceChildren(!sched || !sched.scheduled
    ? h('p.muted', {}, 'no schedule (tarn serve --maintain-every 1h and tarn.maintain.* table properties)')
    : !sched.runs.length ? h('p.muted', {}, `every ${fmtNum(sched.every_ms / 1000)} s; no runs yet`)
    : h('table.list', { id: 'maint-run-list' },
        h('thead', {}, h('tr', {}, ['started', 'table', 'action', 'outcome', 'files removed', 'ms'].map(c => h('th', {}, c)))),
        h('tbody', {}, sched.runs.map(r => h('tr', {},
          h('td', {}, new Date(r.started_ms).toLocaleString()), h('td', {}, `${r.namespace}.${r.table}`),
          h('td', {}, r.action), h('td', {}, r.ok ? 'ok' : 'failed: ' + r.error),
          h('td', {}, fmtNum(r.files_removed)), h('td', {}, r.ms.toFixed(1)))))));
  await guarded(show, out);
}

/*---- Routing ----*/

async function route() {
  const hash = location.hash || '#/tables';
  const [path, qs] = hash.slice(1).split('?');
  const params = new URLSearchParams(qs || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  document.querySelectorAll('nav a').forEach(a => a.classList.toggle('active', hash.startsWith(a.getAttribute('href'))));
  $('#notices').replaceChildren();
  if (running) running.abort();
  if (parts[0] === 'table' && parts[1]) await guarded(() => viewTable(parts[1]));
  else if (parts[0] === 'sql') await viewSql(params);
  else if (parts[0] === 'upload') viewUpload();
  else if (parts[0] === 'maintenance') await viewMaintenance(parts[1]);
  else await viewTables();
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  $('#logout').addEventListener('click', () => { api.setToken(''); showLogin('Signed out.'); });
  const health = await fetch('/health').then(r => r.ok ? r.json() : null).catch(() => null);
  $('#version').textContent = health ? 'tarn ' + health.version : 'server unreachable';
  await route();
  document.body.dataset.readyMs = String(performance.now());
  document.body.dataset.ready = '1';
});
