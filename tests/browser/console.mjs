// console.mjs - drives tarn's browser console in headless Chromium (playwright-core) against a
// running `tarn serve`: upload, tables, schema, SQL grid, snapshots, rollback, EXPLAIN, errors,
// sign-in. Prints "ok   NAME" / "FAIL NAME: why" per check (t99-console.sh counts them) and
// saves a screenshot of each step in ARTIFACTS.
//   node console.mjs BASE ARTIFACTS CSV1 CSV2 [TOKEN_BASE TOKEN]
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [base, artifacts, csv1, csv2, tokenBase, token] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });
let failed = 0;
const ok = name => console.log(`ok   ${name}`);
const bad = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };

async function step(page, name, fn) {
  try {
    await fn();
    ok(name);
  } catch (e) {
    bad(name, String(e.message || e).split('\n')[0]);
  }
  await page.screenshot({ path: `${artifacts}/${name.replace(/[^a-z0-9]+/gi, '-')}.png`, fullPage: false })
    .catch(() => {});
}

const expectText = async (locator, re, timeout = 10000) => {
  await locator.first().waitFor({ timeout });
  const deadline = Date.now() + timeout;
  for (;;) {
    const text = await locator.first().innerText();
    if (re.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`"${text.slice(0, 200)}" does not match ${re}`);
    await new Promise(r => setTimeout(r, 100));
  }
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('pageerror', e => consoleErrors.push(String(e)));
  page.on('dialog', d => d.accept());

  await step(page, 'console loads with an empty table list', async () => {
    await page.goto(base + '/');
    await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
    const ms = await page.evaluate(() => Number(document.body.dataset.readyMs));
    console.log(`# console interactive ${ms.toFixed(0)} ms after navigation started`);
    await expectText(page.locator('#tables'), /no tables yet/);
  });

  await step(page, 'upload shows a preview, a progress bar and the new schema', async () => {
    await page.click('nav a[href="#/upload"]');
    await page.fill('#upload-table', 'sales');
    await page.setInputFiles('#upload-file', csv1);
    await expectText(page.locator('#preview'), /tarn would store them/);
    await expectText(page.locator('#preview-grid .head-cell').nth(2), /amount[\s\S]*double/);
    const before = await page.evaluate(async () => (await fetch('/tables')).json());
    if (before.tables.length) throw new Error('the preview created a table');
    await page.click('#upload-commit');
    await expectText(page.locator('#upload-result'), /sales: 3 rows added \(new table\)/);
    const progress = await page.getAttribute('#upload-progress', 'value');
    if (progress !== '100') throw new Error(`progress ended at ${progress}`);
    await expectText(page.locator('#upload-result #schema'), /amount[\s\S]*double/);
  });

  await step(page, 'the table appears in the list and shows its schema', async () => {
    await page.click('nav a[href="#/tables"]');
    await expectText(page.locator('#tables'), /sales/);
    await page.click('#tables a:text("sales")');
    await expectText(page.locator('#schema'), /region/);
    await expectText(page.locator('#sample'), /EU/);
  });

  await step(page, 'a second upload appends (schema change shown)', async () => {
    await page.click('nav a[href="#/upload"]');
    await page.fill('#upload-table', 'sales');
    await page.setInputFiles('#upload-file', csv2);
    await expectText(page.locator('#preview-changes'), /new columns: note/);
    await page.selectOption('#upload-mode', 'append');
    await page.click('#upload-commit');
    await expectText(page.locator('#upload-result'), /2 rows added[\s\S]*schema changes: .*note/);
  });

  await step(page, 'a query runs with Ctrl+Enter and the grid shows its values', async () => {
    await page.click('nav a[href="#/sql"]');
    await page.locator('.editor-input').fill('SELECT region, sum(amount) AS total FROM sales GROUP BY region ORDER BY region');
    await page.locator('.editor-input').press('Control+Enter');
    await expectText(page.locator('#status'), /3 rows in/);
    await expectText(page.locator('#results'), /APAC[\s\S]*3\.5[\s\S]*EU[\s\S]*17\.75[\s\S]*US[\s\S]*20/);
    await expectText(page.locator('#results .head-cell').nth(1), /total[\s\S]*DOUBLE/);
  });

  await step(page, 'NULLs are visible in the grid', async () => {
    await page.locator('.editor-input').fill('SELECT id, note FROM sales ORDER BY id');
    await page.locator('.editor-input').press('Control+Enter');
    await expectText(page.locator('#status'), /5 rows in/);
    await expectText(page.locator('#results .cell.null'), /NULL/);
  });

  await step(page, 'EXPLAIN counts show the files pruned', async () => {
    await page.locator('.editor-input').fill('SELECT * FROM sales WHERE id = 5');
    await page.locator('.editor-input').press('Control+Enter');
    await expectText(page.locator('#plan'), /default\.sales: 1 of 2 files read \(1 pruned\)/);
  });

  await step(page, 'a chart draws from a result', async () => {
    await page.locator('.editor-input').fill('SELECT region, sum(amount) AS total FROM sales GROUP BY region ORDER BY region');
    await page.locator('.editor-input').press('Control+Enter');
    await expectText(page.locator('#status'), /3 rows in/);
    await page.click('#draw-chart');
    await page.locator('#chart svg rect.bar').nth(1).waitFor({ timeout: 5000 });
  });

  await step(page, 'a bad query shows the API error as written', async () => {
    await page.locator('.editor-input').fill('SELECT * FROM nosuch_table');
    await page.locator('.editor-input').press('Control+Enter');
    await expectText(page.locator('.notice.error'), /404 (NoSuchTable|NotFound)Exception[\s\S]*nosuch_table/);
  });

  await step(page, 'clicking an older snapshot shows the table as it was and the difference', async () => {
    await page.goto(base + '/#/table/sales');
    await page.locator('#timeline li').nth(1).click();
    await expectText(page.locator('#snapshot-detail'), /As of/);
    await expectText(page.locator('#snapshot-detail'), /the first snapshot/);
    const rows = await page.locator('#snapshot-rows .grid-row').count();
    if (rows !== 3) throw new Error(`${rows} rows at the first snapshot, expected 3`);
    await page.locator('#timeline li').nth(0).click();
    await expectText(page.locator('#snapshot-detail'), /added column note/);
    await expectText(page.locator('#rows-added'), /APAC/);
  });

  await step(page, 'rollback to the older snapshot, confirmed, moves the table back', async () => {
    await page.locator('#timeline li').nth(1).click();
    await page.locator('#rollback').waitFor();
    await page.click('#rollback');
    await expectText(page.locator('.notice.info'), /rollback done/);
    await expectText(page.locator('#timeline li.current'), /append/);
    const res = await page.evaluate(async () => (await fetch('/query?sql=SELECT+count(*)+FROM+sales')).json());
    if (res.rows[0][0] !== 3) throw new Error(`count after rollback ${res.rows[0][0]}`);
  });

  await step(page, 'maintenance shows what compaction, expiry and remove-orphans would do', async () => {
    await page.click('nav a[href="#/maintenance"]');
    await expectText(page.locator('#orphans'), /orphan files/);
    await expectText(page.locator('#compact-plan'), /would rewrite \d+ data files|nothing to compact/);
    await expectText(page.locator('#expire-plan'), /would expire \d+ snapshots .* delete \d+ files/);
    await expectText(page.locator('#maint-runs'), /no schedule/);
  });

  await step(page, 'a 100k-row result scrolls through the virtual grid', async () => {
    await page.click('nav a[href="#/sql"]');
    await page.locator('.editor-input').fill('SELECT range AS n, range * 2 AS twice FROM range(100000)');
    const t0 = Date.now();
    await page.locator('.editor-input').press('Control+Enter');
    await expectText(page.locator('#status'), /100,000 rows in/, 30000);
    const loaded = Date.now() - t0;
    const frames = await page.evaluate(async () => {
      const body = document.querySelector('#results .grid-body');
      const times = [];
      let last = performance.now();
      for (let i = 0; i < 120; i++) {
        body.scrollTop += body.scrollHeight / 130;
        await new Promise(r => requestAnimationFrame(r));
        const now = performance.now();
        times.push(now - last);
        last = now;
      }
      times.sort((a, b) => a - b);
      return { median: times[60], p95: times[114], rows: document.querySelectorAll('#results .grid-row').length };
    });
    console.log(`# 100k rows streamed in ${loaded} ms; frames while scrolling: median ${frames.median.toFixed(1)} ms, ` +
                `p95 ${frames.p95.toFixed(1)} ms; ${frames.rows} rows in the page`);
    if (frames.rows > 200) throw new Error(`${frames.rows} rows in the page: the grid is not virtual`);
    await expectText(page.locator('#results .grid-row').last(), /\d{5}/);
  });

  await step(page, 'dark mode follows the system and the table view is keyboard-usable', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(base + '/#/tables');
    await page.waitForSelector('#tables a');
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (bg !== 'rgb(15, 20, 25)') throw new Error(`dark background expected, got ${bg}`);
    await page.focus('input.search');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expectText(page.locator('#schema'), /region/);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  if (consoleErrors.length) bad('no script errors in the page', consoleErrors.join('; '));
  else ok('no script errors in the page');

  if (tokenBase) {
    const p2 = await context.newPage();
    await step(p2, 'a server with a token asks to sign in, and a good token opens it', async () => {
      await p2.goto(tokenBase + '/');
      await p2.locator('#login').waitFor({ timeout: 10000 });
      await p2.fill('#token-input', 'wrong');
      await p2.press('#token-input', 'Enter');
      await p2.locator('#login').waitFor({ timeout: 10000 });
      await expectText(p2.locator('#login'), /not valid/);
      await p2.fill('#token-input', token);
      await p2.press('#token-input', 'Enter');
      await expectText(p2.locator('#tables'), /no tables yet/);
      const stored = await p2.evaluate(() => sessionStorage.getItem('tarn.token'));
      if (stored !== token) throw new Error('the token is not in session storage');
    });
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
