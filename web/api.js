// api.js - the console's only way to reach tarn: fetch with the session's token, JSON that keeps
// 64-bit ids exact, and errors turned into the API's own message.

const TOKEN_KEY = 'tarn.token';

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
}

// An error from the API: status, Iceberg-style type and the server's message, as written.
export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

// Parse JSON text, turning integers too large for a double (snapshot ids, BIGINT values) into
// strings so that they stay exact. Only numbers outside strings are touched.
export function parseJson(text) {
  let out = '', i = 0, start = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) { // a string: skip to its closing quote
      i++;
      while (i < n && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 ? 2 : 1;
      i++;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1, integer = true;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d >= 48 && d <= 57) j++;
        else if (d === 46 || d === 101 || d === 69 || d === 43 || d === 45) { integer = false; j++; }
        else break;
      }
      const digits = j - i - (c === 45 ? 1 : 0);
      if (integer && digits >= 16 && !Number.isSafeInteger(Number(text.slice(i, j)))) {
        out += text.slice(start, i) + '"' + text.slice(i, j) + '"';
        start = j;
      }
      i = j;
    } else {
      i++;
    }
  }
  return JSON.parse(start ? out + text.slice(start) : text);
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const t = token();
  if (t) h['Authorization'] = 'Bearer ' + t;
  return h;
}

async function failure(res) {
  const text = await res.text();
  let type = 'Error', message = text || res.statusText;
  try {
    const body = parseJson(text);
    if (body && body.error) { type = body.error.type || type; message = body.error.message || message; }
  } catch (e) { /* not JSON: keep the text */ }
  return new ApiError(res.status, type, message);
}

// Listeners told when the server asks for a token (401), so the page can show the login form.
const authListeners = [];
export function onAuthNeeded(fn) { authListeners.push(fn); }

export async function request(method, path, body, opts) {
  opts = opts || {};
  const init = { method, headers: headers(opts.headers), signal: opts.signal };
  if (body !== undefined && body !== null) {
    if (typeof body === 'string' || body instanceof Blob || body instanceof FormData) init.body = body;
    else { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
  }
  const res = await fetch(path, init);
  if (!res.ok) {
    const err = await failure(res);
    if (res.status === 401) authListeners.forEach(fn => fn(err));
    throw err;
  }
  if (opts.raw) return res;
  const text = await res.text();
  return text ? parseJson(text) : null;
}

export const get = (path, opts) => request('GET', path, null, opts);
export const post = (path, body, opts) => request('POST', path, body, opts);
export const del = (path, opts) => request('DELETE', path, null, opts);

// Quote a table name for SQL as tarn resolves it: namespace.table, each part quoted.
export function quoteIdent(name) { return '"' + String(name).replace(/"/g, '""') + '"'; }
export function tableRef(ns, name) {
  return (ns && ns !== 'default' ? quoteIdent(ns) + '.' : '') + quoteIdent(name);
}
export function tablePath(ns, name) {
  return encodeURIComponent(ns && ns !== 'default' ? ns + '.' + name : name);
}

// Run one statement and answer the JSON body ({columns, rows, ...}).
export function query(sql, extra, signal) {
  return post('/query', Object.assign({ sql, format: 'json' }, extra || {}), { signal });
}

// Run a statement as NDJSON and hand each row to onRow as it arrives; answers the row count.
// The server ends a failed stream with an error line ({"error": {...}}); that becomes an ApiError.
export async function queryStream(sql, extra, onRow, signal) {
  const res = await request('POST', '/query', Object.assign({ sql, format: 'ndjson' }, extra || {}),
                            { raw: true, signal });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '', count = 0;
  const take = line => {
    if (!line) return;
    const row = parseJson(line);
    if (row && row.error && typeof row.error === 'object' && row.error.message)
      throw new ApiError(row.error.code || 500, row.error.type || 'Error', row.error.message);
    onRow(row);
    count++;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      take(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  }
  take(buffered.trim());
  return count;
}

// Download a query's result in a format tarn writes (csv, parquet, arrow) as a file.
export async function download(sql, format, extra, filename) {
  const res = await request('POST', '/query', Object.assign({ sql, format }, extra || {}), { raw: true });
  const blob = await res.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// Upload a file to /ingest with progress: onProgress(sentBytes, totalBytes); answers the JSON body.
export function upload(table, file, params, onProgress, onSent) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const qs = new URLSearchParams(params).toString();
    xhr.open('POST', '/ingest/' + encodeURIComponent(table) + (qs ? '?' + qs : ''));
    const t = token();
    if (t) xhr.setRequestHeader('Authorization', 'Bearer ' + t);
    xhr.upload.onprogress = e => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.upload.onload = () => onSent && onSent();
    xhr.onload = () => {
      let body = null;
      try { body = xhr.responseText ? parseJson(xhr.responseText) : null; } catch (e) { /* below */ }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
      const e = body && body.error;
      const err = new ApiError(xhr.status, e ? e.type : 'Error', e ? e.message : xhr.responseText);
      if (xhr.status === 401) authListeners.forEach(fn => fn(err));
      reject(err);
    };
    xhr.onerror = () => reject(new ApiError(0, 'NetworkError', 'the upload did not reach the server'));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}
