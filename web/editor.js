// editor.js - the SQL editor: a textarea over a highlighted copy of its text (keywords, strings,
// numbers, comments), completion of keywords, tables and columns, and Ctrl+Enter to run.

const KEYWORDS = ('select from where group by order having limit offset join left right full inner outer ' +
  'cross on using as and or not in is null like ilike between case when then else end distinct ' +
  'union all except intersect with insert into values update set delete merge matched alter table ' +
  'add column rename to drop explain analyze describe show tables at version timestamp count sum ' +
  'avg min max cast true false asc desc nulls first last over partition window qualify pivot unpivot').split(' ');

function escapeHtml(s) {
  return s.replace(/[&<>]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
}

const TOKEN = /(--[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|('(?:[^']|'')*'?)|("(?:[^"]|"")*"?)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_$]*)/g;

// HTML of "sql" with spans around its tokens.
export function highlight(sql) {
  let out = '', last = 0, m;
  TOKEN.lastIndex = 0;
  while ((m = TOKEN.exec(sql)) !== null) {
    out += escapeHtml(sql.slice(last, m.index));
    const text = escapeHtml(m[0]);
    if (m[1]) out += '<span class="tk-comment">' + text + '</span>';
    else if (m[2]) out += '<span class="tk-string">' + text + '</span>';
    else if (m[3]) out += '<span class="tk-ident">' + text + '</span>';
    else if (m[4]) out += '<span class="tk-number">' + text + '</span>';
    else if (KEYWORDS.includes(m[5].toLowerCase())) out += '<span class="tk-keyword">' + text + '</span>';
    else out += text;
    last = m.index + m[0].length;
  }
  return out + escapeHtml(sql.slice(last)) + '\n';
}

export class Editor {
  // onRun(sql) is called on Ctrl+Enter; words() answers the completion words (tables, columns).
  constructor(container, onRun, words) {
    this.onRun = onRun;
    this.words = words;
    this.root = document.createElement('div');
    this.root.className = 'editor';
    this.pre = document.createElement('pre');
    this.pre.className = 'editor-hl';
    this.pre.setAttribute('aria-hidden', 'true');
    this.area = document.createElement('textarea');
    this.area.className = 'editor-input';
    this.area.spellcheck = false;
    this.area.setAttribute('aria-label', 'SQL');
    this.popup = document.createElement('ul');
    this.popup.className = 'completion';
    this.popup.hidden = true;
    this.popup.setAttribute('role', 'listbox');
    this.root.append(this.pre, this.area, this.popup);
    container.replaceChildren(this.root);
    this.choices = [];
    this.active = 0;
    this.area.addEventListener('input', () => { this.sync(); this.complete(false); });
    this.area.addEventListener('scroll', () => {
      this.pre.scrollTop = this.area.scrollTop;
      this.pre.scrollLeft = this.area.scrollLeft;
    });
    this.area.addEventListener('keydown', e => this.key(e));
    this.area.addEventListener('blur', () => setTimeout(() => this.close(), 150));
    this.sync();
  }

  get value() { return this.area.value; }
  set value(v) { this.area.value = v; this.sync(); }
  focus() { this.area.focus(); }

  sync() { this.pre.innerHTML = highlight(this.area.value); }

  // The identifier being typed before the cursor: [start, text].
  word() {
    const pos = this.area.selectionStart, text = this.area.value.slice(0, pos);
    const m = /[A-Za-z_][A-Za-z0-9_$.]*$/.exec(text);
    return m ? [pos - m[0].length, m[0]] : [pos, ''];
  }

  complete(forced) {
    const [, w] = this.word();
    if (!forced && w.length < 2) return this.close();
    const lw = w.toLowerCase();
    const pool = [...new Set([...this.words(), ...KEYWORDS.map(k => k.toUpperCase())])];
    this.choices = pool.filter(c => c.toLowerCase().startsWith(lw) && c.toLowerCase() !== lw).slice(0, 12);
    if (!this.choices.length) return this.close();
    this.active = 0;
    this.popup.replaceChildren(...this.choices.map((c, i) => {
      const li = document.createElement('li');
      li.textContent = c;
      li.setAttribute('role', 'option');
      if (i === 0) li.className = 'active';
      li.addEventListener('mousedown', e => { e.preventDefault(); this.accept(i); });
      return li;
    }));
    const lines = this.area.value.slice(0, this.area.selectionStart).split('\n');
    this.popup.style.top = Math.min(lines.length * 20 + 8 - this.area.scrollTop, this.area.clientHeight) + 'px';
    this.popup.style.left = Math.min(lines[lines.length - 1].length * 8.4 + 12, this.area.clientWidth - 160) + 'px';
    this.popup.hidden = false;
  }

  close() { this.popup.hidden = true; this.choices = []; }

  accept(i) {
    const [start] = this.word();
    const end = this.area.selectionStart, v = this.area.value;
    this.area.value = v.slice(0, start) + this.choices[i] + v.slice(end);
    this.area.selectionStart = this.area.selectionEnd = start + this.choices[i].length;
    this.close();
    this.sync();
  }

  key(e) {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
      e.preventDefault();
      this.close();
      this.onRun(this.area.value);
      return;
    }
    if (e.ctrlKey && e.key === ' ') { e.preventDefault(); this.complete(true); return; }
    if (this.popup.hidden) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = this.choices.length;
      this.active = (this.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.popup.childNodes.forEach((li, i) => { li.className = i === this.active ? 'active' : ''; });
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      this.accept(this.active);
    } else if (e.key === 'Escape') {
      this.close();
    }
  }
}
