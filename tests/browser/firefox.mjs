// firefox.mjs - the console's main paths again in Firefox (Debian's firefox-esr, driven over
// WebDriver BiDi by puppeteer-core), so that what console.mjs proves in Chromium is not
// Chromium-only: load, sign-in, upload with preview and progress, the table and its schema, a
// query run with Ctrl+Enter and its grid, NULLs, an API error, an older snapshot, dark mode
// (the browser runs with a dark system colour scheme).
// Prints "ok   NAME" / "FAIL NAME: why" per check and saves a screenshot of each step.
//   node firefox.mjs BASE ARTIFACTS CSV TOKEN_BASE TOKEN
import puppeteer from 'puppeteer-core';
import { mkdirSync } from 'node:fs';

const [base, artifacts, csv, tokenBase, token] = process.argv.slice(2);
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
  await page.screenshot({ path: `${artifacts}/firefox-${name.replace(/[^a-z0-9]+/gi, '-')}.png` })
    .catch(() => {});
}

// Wait until the text of the first element matching "selector" matches "re".
async function expectText(page, selector, re, timeout = 10000) {
  const deadline = Date.now() + timeout;
  let text = '';
  for (;;) {
    text = await page.$eval(selector, e => e.innerText).catch(() => '');
    if (re.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`${selector}: "${text.slice(0, 200)}" does not match ${re}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

async function runQuery(page, sql) {
  await page.$eval('.editor-input', (e, v) => {
    e.value = v;
    e.dispatchEvent(new Event('input', { bubbles: true }));
  }, sql);
  await page.focus('.editor-input');
  await page.keyboard.down('Control');
  await page.keyboard.press('Enter');
  await page.keyboard.up('Control');
}

const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
  headless: true,
  // the system's colour scheme, as a user with a dark desktop has it (BiDi cannot emulate it)
  extraPrefsFirefox: { 'layout.css.prefers-color-scheme.content-override': 0 },
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  page.on('dialog', d => d.accept());

  await step(page, 'Firefox: the console loads', async () => {
    await page.goto(base + '/');
    await page.waitForSelector('body[data-ready="1"]', { timeout: 15000 });
    await expectText(page, '#tables', /no tables yet/);
  });

  await step(page, 'Firefox: upload shows a preview, then commits with the progress bar full', async () => {
    await page.click('nav a[href="#/upload"]');
    await page.type('#upload-table', 'fx');
    const input = await page.$('#upload-file');
    await input.uploadFile(csv);
    await expectText(page, '#preview', /tarn would store them/);
    await page.click('#upload-commit');
    await expectText(page, '#upload-result', /fx: 3 rows added \(new table\)/);
    const progress = await page.$eval('#upload-progress', e => e.getAttribute('value'));
    if (progress !== '100') throw new Error(`progress ended at ${progress}`);
  });

  await step(page, 'Firefox: the table shows its schema and sample', async () => {
    await page.goto(base + '/#/table/fx');
    await expectText(page, '#schema', /region/);
    await expectText(page, '#sample', /EU/);
  });

  await step(page, 'Firefox: a query runs with Ctrl+Enter and the grid shows its values', async () => {
    await page.click('nav a[href="#/sql"]');
    await page.waitForSelector('.editor-input');
    await runQuery(page, 'SELECT region, sum(amount) AS total FROM fx GROUP BY region ORDER BY region');
    await expectText(page, '#status', /2 rows in/);
    await expectText(page, '#results', /EU[\s\S]*17\.75[\s\S]*US[\s\S]*20/);
  });

  await step(page, 'Firefox: NULLs are visible', async () => {
    await runQuery(page, 'SELECT id, NULL AS nothing FROM fx ORDER BY id');
    await expectText(page, '#status', /3 rows in/);
    await expectText(page, '#results .cell.null', /NULL/);
  });

  await step(page, 'Firefox: a bad query shows the API error as written', async () => {
    await runQuery(page, 'SELECT * FROM nosuch_table');
    await expectText(page, '.notice.error', /404 (NoSuchTable|NotFound)Exception[\s\S]*nosuch_table/);
  });

  await step(page, 'Firefox: a snapshot of the timeline opens', async () => {
    await page.goto(base + '/#/table/fx');
    await page.waitForSelector('#timeline li');
    await page.click('#timeline li');
    await expectText(page, '#snapshot-detail', /As of/);
  });

  await step(page, 'Firefox: dark mode follows the system', async () => {
    await page.goto(base + '/#/tables');
    await page.waitForSelector('#tables a');
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (bg !== 'rgb(15, 20, 25)') throw new Error(`dark background expected, got ${bg}`);
  });

  if (errors.length) bad('Firefox: no script errors in the page', errors.join('; '));
  else ok('Firefox: no script errors in the page');

  const p2 = await browser.newPage();
  await step(p2, 'Firefox: a server with a token asks to sign in, and the token opens it', async () => {
    await p2.goto(tokenBase + '/');
    await p2.waitForSelector('#login', { timeout: 15000 });
    await p2.type('#token-input', token);
    await p2.keyboard.press('Enter');
    await expectText(p2, '#tables', /no tables yet/);
    const stored = await p2.evaluate(() => sessionStorage.getItem('tarn.token'));
    if (stored !== token) throw new Error('the token is not in session storage');
  });
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
