// review.spec.mjs -- a reviewer's session on the fieldsyncd review page, in
// headless Debian chromium driven by playwright-core.  Started by run.sh,
// which sets up the daemon and the data and passes everything in FS_*.
//
// Signs in (a field token is refused first), filters, opens a record,
// reveals its sensitive values, sets a status, resolves a conflict,
// downloads a CSV, draws the situation report (table, bar charts, cells
// under 5 hidden) and the map (a click opens the record) and checks that XSS payloads stored in fields stay text:
// window.__xss stays undefined, no dialog opens, no <img> is made.  Fails
// on any console error (a CSP violation included) and on any request to
// another origin.  Screenshots go to FS_SHOTS.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run this through run.sh)`);
  return v;
};
const URL0 = env('FS_URL');
const SHOTS = env('FS_SHOTS');
const R1 = env('FS_R1');
const R2 = env('FS_R2');
const R4 = env('FS_R4');
const SENTINEL = env('FS_SENTINEL');
const PASSPHRASE = env('FS_PASSPHRASE');
const reviewerToken = fs.readFileSync(env('FS_REVIEWER_TOKEN_FILE'), 'utf8').trim();
const fieldToken = fs.readFileSync(env('FS_FIELD_TOKEN_FILE'), 'utf8').trim();
const hsToken = fs.readFileSync(env('FS_HS_TOKEN_FILE'), 'utf8').trim();
const profile = fs.mkdtempSync(path.join(env('FS_TMP'), 'chromium-profile-'));

let step = 0;
async function shot(page, name) {
  step += 1;
  const file = path.join(SHOTS, `${String(step).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  console.log(`screenshot: ${file}`);
}
const ok = (what) => console.log(`ok: ${what}`);

const context = await chromium.launchPersistentContext(profile, {
  executablePath: env('FS_CHROMIUM'),
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
  ignoreHTTPSErrors: true, // the test's throwaway self-signed certificate
  acceptDownloads: true,
  viewport: { width: 1366, height: 768 },
});

const problems = [];
try {
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('dialog', async (d) => { problems.push(`dialog opened: ${d.type()}`); await d.dismiss(); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(URL0 + '/') && !u.startsWith('blob:') && !u.startsWith('data:')) problems.push(`request to another origin: ${u}`);
    if (u.includes(reviewerToken)) problems.push('the token appeared in a URL');
  });

  // Sign in: a field token is refused, the reviewer's works.
  await page.goto(URL0 + '/');
  await page.locator('#signin-view').waitFor({ state: 'visible' });
  const csp = (await page.request.get(URL0 + '/')).headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  await shot(page, 'signin');
  const seen = problems.length;
  await page.fill('#token', fieldToken);
  await page.click('#signin-button');
  await page.locator('#signin-error').filter({ hasText: 'may not review' }).waitFor();
  // Chromium logs the refused request itself; that one is expected.
  problems.push(...problems.splice(seen).filter((p) => !/status of 403/.test(p)));
  assert.equal(await page.locator('#app-view').isVisible(), false);
  await page.fill('#token', reviewerToken);
  await page.click('#signin-button');
  await page.locator('#app-view').waitFor({ state: 'visible' });
  await page.locator('#records tbody tr').first().waitFor();
  assert.equal(await page.locator('#who-name').textContent(), 'reviewer (reviewer)');
  assert.equal(await page.evaluate(() => sessionStorage.length), 1);
  assert.ok(!page.url().includes(reviewerToken));
  assert.equal(await page.locator('#records tbody tr').count(), 5);
  ok('signed in; a field token was refused; 5 records listed');

  // The XSS payload in a list cell is text.
  const xssRow = page.locator(`#records tbody tr[data-id="${R2}"]`);
  assert.equal(await xssRow.locator('td.summary').textContent(), '<script>window.__xss=1</script>');
  await shot(page, 'list');

  // The compact list: one line per record, deleted ones marked.
  const heights = await page.locator('#records tbody tr').evaluateAll((rows) => rows.map((r) => r.getBoundingClientRect().height));
  assert.ok(Math.max(...heights) < 40, `a list row is ${Math.max(...heights)} px high: not one line`);
  assert.equal(await page.locator(`#records tbody tr[data-id="${R1}"] td`).first().textContent(), '2026-11-18',
    'the Date column is the inspection date');

  // Filter: the labour form, with documents retained and wages withheld (both).
  await page.selectOption('#f-form', 'labor_inspection');
  await page.click('#f-flags summary');
  await page.check('#f-flag-retention_of_documents');
  await page.check('#f-flag-withholding_of_wages');
  await page.locator('#f-flags-sum').filter({ hasText: '2 chosen' }).waitFor();
  await page.click('#f-flags summary');
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^1 record$/ }).waitFor();
  assert.equal(await page.locator('#records tbody tr').count(), 1);
  await page.click('#f-flags summary');
  await page.check('#f-flag-isolation'); // R1 has no isolation: nothing has all three
  await page.click('#f-flags summary');
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^0 records$/ }).waitFor();
  await page.click('#f-flags summary');
  await page.uncheck('#f-flag-isolation');
  await page.click('#f-flags summary');
  await page.selectOption('#f-conflicts', '1');
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^1 record$/ }).waitFor();
  await shot(page, 'filtered');
  ok('filters: form, two indicators at once (all must hold), conflicts');

  // Text search over the values that are not sensitive; a sensitive value is never found.
  await page.click('#reset-filters');
  await page.fill('#f-q', 'harbour');
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^1 record$/ }).waitFor();
  assert.equal(await page.locator(`#records tbody tr[data-id="${R4}"]`).count(), 1);
  await page.fill('#f-q', SENTINEL.split(' ')[1]);
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^0 records$/ }).waitFor();
  await page.fill('#f-q', '');
  await page.selectOption('#f-assigned', 'me');
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^0 records$/ }).waitFor();
  await page.selectOption('#f-assigned', '');
  await page.selectOption('#f-sort', 'date');
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^5 records$/ }).waitFor();
  // The border screening (2026-11-19) is the newest date; the inspections are of 2026-11-18.
  assert.equal(await page.locator('#records tbody tr td').first().textContent(), '2026-11-19');
  await page.click('#reset-filters');
  await page.locator('#count').filter({ hasText: /^5 records$/ }).waitFor();
  await page.selectOption('#f-form', 'labor_inspection');
  await page.selectOption('#f-conflicts', '1');
  await page.click('#f-flags summary');
  await page.check('#f-flag-retention_of_documents');
  await page.click('#f-flags summary');
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^1 record$/ }).waitFor();
  ok('search finds non-sensitive text only; sorted by the form\'s date');

  // Open the record: sensitive values masked until revealed.
  await page.click(`#records tbody tr[data-id="${R1}"]`);
  await page.locator('#detail-body').waitFor({ state: 'visible' });
  await page.locator('#d-title').filter({ hasText: 'Green Valley tomato farm' }).waitFor();
  const nameCell = page.locator('#d-fields td.value[data-field="interviewee_name"]');
  assert.match(await nameCell.textContent(), /hidden/);
  assert.equal((await page.content()).includes(SENTINEL), false, 'sensitive value in the page before reveal');
  assert.ok(await page.locator('#d-history li').count() >= 3);
  assert.equal(await page.locator('#d-conflicts .conflict-field').count(), 1);
  await shot(page, 'record');
  // Sealed values (issue 17): the page asks for the sealing key's passphrase.
  const before = problems.length;
  await page.click('#reveal');
  await page.locator('#unlock-form').waitFor({ state: 'visible' });
  await page.fill('#unlock-pass', 'not-the-passphrase-0000');
  await page.click('#unlock-go');
  await page.locator('#d-msg').filter({ hasText: 'Wrong passphrase' }).waitFor();
  assert.equal(await page.locator('#unlock-pass').inputValue(), '', 'passphrase left in the field');
  await shot(page, 'unlock');
  await page.fill('#unlock-pass', PASSPHRASE);
  await page.click('#unlock-go');
  await nameCell.filter({ hasText: SENTINEL }).waitFor();
  assert.equal(await page.locator('#unlock-form').isVisible(), false);
  assert.equal(await page.locator('#unlock-state').isVisible(), true);
  assert.equal(await page.locator('#reveal').isVisible(), false);
  // The two refusals the browser logs: the locked reveal and the wrong passphrase; nothing else.
  const refused = problems.splice(before);
  assert.equal(refused.length, 2, refused.join('; '));
  for (const p of refused) assert.match(p, /status of 403/);
  await nameCell.scrollIntoViewIfNeeded();
  await shot(page, 'revealed');
  ok('record opened; sensitive value masked, sealed, revealed after a wrong then the right passphrase');

  // Review status with a note.
  await page.fill('#d-note', 'Called the labour office; follow-up visit planned.');
  await page.click('button.status-btn[data-status="follow_up"]');
  await page.locator('#d-status').filter({ hasText: 'Follow up' }).waitFor();
  await page.locator('#d-history li.event').filter({ hasText: 'Status set to Follow up' }).waitFor();
  await page.locator('#d-history li.event').filter({ hasText: 'follow-up visit planned' }).waitFor();
  assert.match(await nameCell.textContent(), new RegExp(SENTINEL), 'a status change hid the revealed values');
  ok('status set to follow up, with the note in the history; revealed values still shown');

  // Assignment: to me, into my queue; the history says so.
  await page.click('#assign-me');
  await page.locator('#d-owner').filter({ hasText: 'Assigned to reviewer.' }).waitFor();
  await page.locator('#d-history li.event').filter({ hasText: 'Assigned to reviewer' }).waitFor();
  assert.match(await nameCell.textContent(), new RegExp(SENTINEL), 'an assignment hid the revealed values');
  await page.locator(`#records tbody tr[data-id="${R1}"] td:nth-child(7)`).filter({ hasText: 'reviewer' }).waitFor();
  ok('assigned to me: the owner shows in the list and the history');

  // Resolve the conflict: keep the value that currently loses.
  const loser = page.locator('#d-conflicts .candidate:not(.current)');
  const kept = (await loser.locator('.v').textContent()).trim();
  assert.match(await loser.locator('.by').textContent(), /written by inspector-\d, \d{4}-\d\d-\d\d \d\d:\d\d/);
  await loser.locator('button.keep').click();
  await loser.locator('button.keep.confirming').filter({ hasText: 'Confirm' }).waitFor();
  assert.equal(await page.locator('#d-conflicts-box').isVisible(), true, 'resolved on the first click');
  await loser.locator('button.keep').click();
  await page.locator('#d-conflicts-box').waitFor({ state: 'hidden' });
  await page.locator('#d-fields td.value[data-field="number_of_workers"] .v').filter({ hasText: new RegExp(`^${kept}$`) }).waitFor();
  await page.locator('#d-history li').filter({ hasText: 'headquarters (resolution)' }).waitFor();
  await shot(page, 'resolved');
  ok(`conflict resolved by keeping ${kept}`);

  // My queue: the record assigned to me (the conflict filter cleared: it was resolved).
  await page.selectOption('#f-conflicts', '');
  await page.selectOption('#f-assigned', 'me');
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^1 record$/ }).waitFor();
  assert.equal(await page.locator(`#records tbody tr[data-id="${R1}"]`).count(), 1);
  await page.selectOption('#f-assigned', '');
  await page.selectOption('#f-conflicts', '1');
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^0 records$/ }).waitFor();
  ok('my queue lists the record assigned to me');

  // Chain of custody on the page, and the printed case file (issue 16).
  const signed = await page.locator('#d-history .sig.valid').count();
  assert.ok(signed >= 3, `only ${signed} changes show a valid signature`);
  assert.equal(await page.locator('#d-history .sig.invalid').count(), 0);
  assert.match(await page.locator('#d-custody').textContent(), /signed and verified/);
  await page.evaluate(() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; });
  await page.click('#print');
  await page.waitForFunction(() => window.__printed === 1);
  assert.match(await page.locator('#d-print-note').textContent(), /Sensitive values hidden/);
  // Sensitive values go into a printed case file only after an audited reveal.
  await page.click('#reveal');
  await nameCell.filter({ hasText: SENTINEL }).waitFor();
  await page.evaluate(() => { window.__printed = 0; });
  await page.click('#print');
  await page.waitForFunction(() => window.__printed === 1);
  assert.match(await page.locator('#d-print-note').textContent(), new RegExp(`Case file of record ${R1}.*after an audited reveal`));
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('#records').isVisible(), false, 'the list prints');
  assert.equal(await page.locator('#print').isVisible(), false, 'buttons print');
  assert.equal(await page.locator('#d-print-note').isVisible(), true);
  assert.equal(await page.locator('#d-history').evaluate((e) => getComputedStyle(e).flexDirection), 'column-reverse');
  const pdf = await page.pdf({ format: 'A4' });
  assert.ok(pdf.length > 10000, 'no printable case file');
  fs.writeFileSync(path.join(SHOTS, 'casefile.pdf'), pdf);
  await page.emulateMedia({ media: 'screen' });
  ok(`case file printed (audited first): ${signed} changes with valid signatures, list and buttons left out`);

  // The record holding XSS payloads: shown as text, nothing runs.
  await page.click('#reset-filters');
  await page.locator('#count').filter({ hasText: /^5 records$/ }).waitFor();
  await page.click(`#records tbody tr[data-id="${R2}"]`);
  await page.locator('#d-fields td.value[data-field="referral_agency"]').filter({ hasText: 'onerror' }).waitFor();
  assert.equal(await page.locator('#d-fields td.value[data-field="referral_agency"] .v').textContent(),
    '"><img src=x onerror="window.__xss=2">');
  assert.equal(await page.locator('#d-title').textContent(), '<script>window.__xss=1</script>');
  await page.locator('#d-fields td.value[data-field="inspector_id"]').hover();
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => typeof window.__xss), 'undefined');
  assert.equal(await page.evaluate(() => document.querySelectorAll('img, #detail script, #records script, b').length), 0);
  await shot(page, 'xss-as-text');
  ok('XSS payloads rendered as text; window.__xss undefined, no dialog');

  // A delete and an edit it did not see (merge rule 2): keep the record.
  await page.click(`#records tbody tr[data-id="${R4}"]`);
  const dc = page.locator('#d-conflicts .delete-conflict');
  await dc.waitFor();
  assert.match(await dc.textContent(), /Deleted by inspector-2/);
  assert.match(await dc.textContent(), /Edited without seeing the delete: Inspector ID, by inspector-1/);
  await page.locator('#d-fields td.value[data-field="worksite_name"] .v').filter({ hasText: 'Harbour fish processing' }).waitFor();
  await shot(page, 'delete-conflict');
  await dc.locator('button[data-record="keep"]').click();
  await page.locator('#d-conflicts-box').waitFor({ state: 'hidden' });
  await page.locator('#d-msg').filter({ hasText: 'Record kept' }).waitFor();
  ok('delete conflict shown with both sides and the values kept; the reviewer keeps the record');

  // Export: the CSV download.
  await page.selectOption('#f-form', 'labor_inspection');
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^4 records$/ }).waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  assert.match(download.suggestedFilename(), /^labor_inspection-\d{8}T\d{6}Z\.csv$/);
  const file = path.join(env('FS_TMP'), 'download.csv');
  await download.saveAs(file);
  const csv = fs.readFileSync(file, 'utf8');
  const lines = csv.trimEnd().split('\r\n');
  assert.equal(lines.length, 5, 'header and one line per record');
  assert.ok(lines[0].startsWith('id,form,form_version,'));
  assert.ok(!lines[0].includes('interviewee_name'), 'sensitive column exported by default');
  assert.ok(!csv.includes(SENTINEL));
  assert.ok(csv.includes(",'=cmd|' /C calc'!A0,"), 'formula cell not escaped');
  assert.ok(csv.includes(",'@SUM(1+1)*cmd|' /C calc'!A0"), 'formula cell not escaped');
  await page.locator('#list-msg').filter({ hasText: 'Export downloaded' }).waitFor();
  await shot(page, 'exported');
  ok('CSV downloaded: one row per record, formulas escaped, sensitive column left out');

  // The situation report: a table and bar charts, small counts hidden.
  await page.click('#view-report');
  await page.locator('#report-view').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#app-view').isVisible(), false);
  await page.selectOption('#r-form', 'labor_inspection');
  for (const cb of await page.locator('#r-dims input:checked').all()) await cb.uncheck();
  await page.check('#r-dim-sector');
  await page.click('#r-run');
  await page.locator('#r-body').waitFor({ state: 'visible' });
  const rows = page.locator('#r-table tbody tr');
  assert.equal(await rows.count(), 4, 'three sectors and the total');
  assert.equal(await rows.last().locator('td').first().textContent(), 'Total');
  assert.deepEqual(await page.locator('#r-table tbody tr td:nth-child(2)').allTextContents(), ['<5', '<5', '<5', '<5'],
    'every count under 5 is hidden');
  assert.equal(await page.locator('#r-chart-rows svg g.bar').count(), 3);
  assert.equal(await page.locator('#r-chart-rows svg g.bar.suppressed').count(), 3);
  assert.ok(await page.locator('#r-chart-ind svg g.bar').count() >= 11, 'one bar per indicator');
  await page.locator('#r-msg').filter({ hasText: 'Fewer than 5 records counted' }).waitFor();
  const heads = await page.locator('#r-table thead th').allTextContents();
  for (const st of ['open', 'accepted', 'declined', 'closed']) {
    assert.ok(heads.includes('Referral (agency\u2019s answer): ' + st), 'no referral column ' + st + ': ' + heads);
  }
  assert.equal(await page.locator('#r-dim-referred').count(), 1, 'the report counts by referral outcome');
  await shot(page, 'report');
  const [rep] = await Promise.all([page.waitForEvent('download'), page.click('#r-csv')]);
  const repFile = path.join(env('FS_TMP'), 'report.csv');
  await rep.saveAs(repFile);
  const repCsv = fs.readFileSync(repFile, 'utf8');
  assert.ok(repCsv.startsWith('sector,records,'), repCsv);
  assert.ok(repCsv.includes('\r\nTotal,<5,'), repCsv);
  assert.ok(!repCsv.includes(SENTINEL));
  ok('report: table with a total row, bar charts drawn by the page, cells under 5 hidden, CSV download');

  // The map: the outline of Belize drawn by the page, records where they were made; a click opens one.
  await page.click('#view-map');
  await page.locator('#map-view').waitFor({ state: 'visible' });
  await page.locator('#m-svg path.land').waitFor();
  await page.selectOption('#m-form', 'labor_inspection');
  await page.click('#m-run');
  await page.locator('#m-msg').filter({ hasText: '1 record on the map; 3 without a location' }).waitFor();
  assert.equal(await page.locator('#m-svg circle.point').count(), 1);
  assert.equal(await page.locator('#m-svg circle.point.risk-none').count(), 1, 'version 2 records have no risk level');
  assert.equal(await page.locator('#m-svg text.district').count(), 6);
  await shot(page, 'map');
  const point = page.locator(`#m-svg circle.point[data-id="${R1}"]`);
  await point.hover();
  assert.equal(await point.locator('title').textContent(), 'Record ' + R1, 'a point names its record on hover');
  await point.click();
  await page.locator('#app-view').waitFor({ state: 'visible' });
  await page.locator('#d-title').filter({ hasText: 'Green Valley tomato farm' }).waitFor();
  ok('map: outline drawn offline, one located record plotted, a click opens it');

  // Referral (issue 20): Labour refers the open record to Human Services.
  await page.locator('#refer-form').waitFor({ state: 'visible' });
  const agencies = await page.locator('#ref-agency option').allTextContents();
  assert.deepEqual(agencies, ['Department of Human Services'], 'the refer list offers its own agency');
  await page.selectOption('#ref-agency', 'hs');
  await page.fill('#ref-due', '2026-12-31');
  await page.fill('#ref-reason', 'Needs shelter; documents held by the employer.');
  await page.click('#ref-go');
  await page.locator('#d-msg').filter({ hasText: /Referred to Department of Human Services, case hs-\d{4}-[0-9a-f]{6}/ }).waitFor();
  await page.locator('#d-referrals li').filter({ hasText: 'Open' }).waitFor();
  await page.locator('#d-history li.event').filter({ hasText: 'Referred to Department of Human Services' }).waitFor();
  assert.equal(await page.locator('#d-referrals').getByText('Needs shelter').count(), 0, 'the reason is shown');
  await shot(page, 'referred');
  ok('referred to Human Services from the page: case number, status open, in the history');

  // Sign out forgets the token.
  await page.click('#signout');
  await page.locator('#signin-view').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  ok('signed out; token forgotten');

  // Human Services' reviewer sees the referred record only, and accepts it.
  await page.fill('#token', hsToken);
  await page.click('#signin-button');
  await page.locator('#app-view').waitFor({ state: 'visible' });
  await page.click('#reset-filters');
  await page.locator('#count').filter({ hasText: /^2 records$/ }).waitFor(); // the record and its referral
  await page.selectOption('#f-referred', 'us');
  await page.click('#apply');
  await page.locator('#count').filter({ hasText: /^1 record$/ }).waitFor();
  await page.locator(`#records tbody tr[data-id="${R1}"]`).click();
  await page.locator('#d-title').filter({ hasText: 'Green Valley tomato farm' }).waitFor();
  await page.locator('#d-access').filter({ hasText: 'Referred to your agency' }).waitFor();
  assert.equal(await page.locator('#d-review-box').isVisible(), false, 'the referring side\'s review controls shown');
  assert.equal(await page.locator('#refer-form').isVisible(), false, 'a referred record can be referred on');
  assert.doesNotMatch(await page.locator('#d-fields').textContent(), new RegExp(SENTINEL));
  await page.locator('#d-referrals button').filter({ hasText: 'Accept' }).click();
  await page.locator('#d-referrals li').filter({ hasText: 'Accepted' }).filter({ hasText: 'owner hs-reviewer' }).waitFor();
  await page.locator('#d-history li.event').filter({ hasText: 'Referral to Department of Human Services: accepted' }).waitFor();
  await shot(page, 'referral-accepted');
  await page.click('#signout');
  await page.locator('#signin-view').waitFor({ state: 'visible' });
  ok('Human Services sees only the referred record (values masked, no review controls of Labour) and accepts it');

  assert.equal(await page.evaluate(() => typeof window.__xss), 'undefined');
  assert.deepEqual(problems, []);
  console.log('review.spec: all passed');
} catch (e) {
  for (const p of problems) console.error(p);
  try {
    const page = context.pages()[0];
    if (page) await page.screenshot({ path: path.join(SHOTS, 'failure.png') });
  } catch (e2) { /* keep the first error */ }
  throw e;
} finally {
  await context.close();
}
