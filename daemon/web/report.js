/*
 * fieldsync review page: the situation report (issue 20, item 4).
 *
 * Asks GET /v1/review/report (the server counts, suppresses cells under 5
 * and audits; docs/OPERATIONS.md, "The situation report") and shows the
 * answer as a table and two bar charts drawn here in SVG: no library, no
 * CDN, works offline.  Values reach the page through textContent only.
 * Shares the API helper of app.js through window.fsReview.
 */
'use strict';

(function () {
  const R = window.fsReview;
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const HIDDEN = '<5';
  // Questions the page offers to count by: choices, never sensitive (the
  // server takes any single-valued question: fieldsyncd report --by).
  const DIM_TYPES = new Set(['select_one']);
  const REFERRED = 'referred';
  const REFERRED_LABEL = 'Referral (agency\u2019s answer)';

  function svg(tag, attrs, text) {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = String(text);
    return n;
  }

  /* --- the view ------------------------------------------------------ */

  document.addEventListener('fs-view', (ev) => { if (ev.detail === 'report') fillForms(); });

  function fillForms() {
    const sel = $('r-form');
    const keep = sel.value;
    R.clear(sel);
    for (const f of R.forms.values()) sel.appendChild(R.el('option', { value: f.id, text: f.title || f.id }));
    if (keep && R.forms.has(keep)) sel.value = keep;
    fillDims();
  }

  // The dimensions of the chosen form: month, then its single-valued questions.
  function fillDims() {
    const box = $('r-dims');
    const f = R.forms.get($('r-form').value);
    R.clear(box);
    if (!f) return;
    const names = ['month'];
    for (const fd of f.fields) {
      if (!fd.sensitive && DIM_TYPES.has(fd.type)) names.push(fd.name);
    }
    // The agencies' answer to a referral: counted by the server from its
    // referrals, offered unless the form has a question of that name.
    if (!f.fields.some((x) => x.name === REFERRED)) names.push(REFERRED);
    const preferred = names.includes('district') ? ['district', 'month'] : [names[1] || 'month'];
    for (const n of names) {
      const fd = f.fields.find((x) => x.name === n);
      const id = 'r-dim-' + n;
      const cb = R.el('input', { type: 'checkbox', id, value: n });
      cb.checked = preferred.includes(n);
      box.appendChild(R.el('label', { cls: 'check', for: id }, [cb,
        document.createTextNode(' ' + (n === 'month' ? 'Month' : (fd && fd.label) || (n === REFERRED ? REFERRED_LABEL : n)))]));
    }
  }
  $('r-form').addEventListener('change', fillDims);

  function params(format) {
    const p = new URLSearchParams();
    p.set('form', $('r-form').value);
    const by = [...$('r-dims').querySelectorAll('input:checked')].map((x) => x.value);
    if (by.length) p.set('by', by.slice(0, 4).join(','));
    if ($('r-from').value) p.set('from', $('r-from').value);
    if ($('r-to').value) p.set('to', $('r-to').value);
    p.set('format', format);
    return p;
  }

  function checkDims() {
    const n = $('r-dims').querySelectorAll('input:checked').length;
    if (n === 0 || n > 4) {
      R.message('r-msg', 'Choose one to four things to count by.', true);
      return false;
    }
    return true;
  }

  /* --- drawing ------------------------------------------------------- */

  const cellText = (v) => (v === HIDDEN ? HIDDEN : String(v));

  // A column name as a person reads it: "risk_level=high" -> "Risk level: high".
  function columnLabel(form, name) {
    const f = R.forms.get(form);
    const [field, choice] = name.split('=');
    const fd = f && f.fields.find((x) => x.name === field);
    const lab = field === 'records' ? 'Records'
      : (fd && fd.label) || (field === REFERRED ? REFERRED_LABEL : field);
    return choice === undefined ? lab : lab + ': ' + choice;
  }

  function renderTable(ans) {
    const t = $('r-table');
    const head = t.tHead;
    const body = t.tBodies[0];
    R.clear(head);
    R.clear(body);
    const tr = R.el('tr');
    for (const d of ans.by) tr.appendChild(R.el('th', { text: d === 'month' ? 'Month' : columnLabel(ans.form, d) }));
    for (const c of ans.columns) tr.appendChild(R.el('th', { cls: 'num', text: columnLabel(ans.form, c), title: c }));
    head.appendChild(tr);
    const row = (keys, cells, cls) => {
      const r = R.el('tr', { cls });
      for (const k of keys) r.appendChild(R.el('td', { text: k }));
      for (const v of cells) r.appendChild(R.el('td', { cls: 'num' + (v === HIDDEN ? ' hidden-cell' : ''), text: cellText(v) }));
      body.appendChild(r);
    };
    for (const x of ans.rows) row(ans.by.map((d) => x.by[d]), x.cells, '');
    row(ans.by.map((d, i) => (i === 0 ? 'Total' : '')), ans.total, 'total');
  }

  /*
   * Horizontal bars, one per item {label, value}; a hidden value is drawn
   * as a short hatched bar labelled "<5" (its size is not shown).
   */
  function barChart(fig, items) {
    for (const old of fig.querySelectorAll('svg, p')) old.remove();
    if (!items.length) {
      fig.appendChild(R.el('p', { cls: 'muted small', text: 'Nothing to show.' }));
      return;
    }
    const W = 560, LABEL = 190, BAR_H = 18, GAP = 6, PAD = 4;
    const max = Math.max(1, ...items.map((x) => (x.value === HIDDEN ? 0 : x.value)));
    const scale = (W - LABEL - 60) / max;
    const H = items.length * (BAR_H + GAP) + PAD;
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', class: 'bars' });
    const defs = svg('defs');
    const pat = svg('pattern', { id: fig.id + '-hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' });
    pat.appendChild(svg('rect', { width: 6, height: 6, class: 'hatch-bg' }));
    pat.appendChild(svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'hatch-line' }));
    defs.appendChild(pat);
    s.appendChild(defs);
    items.forEach((x, i) => {
      const y = PAD + i * (BAR_H + GAP);
      const hidden = x.value === HIDDEN;
      const w = hidden ? 14 : Math.max(x.value ? 2 : 0, x.value * scale);
      const g = svg('g', { class: 'bar' + (hidden ? ' suppressed' : '') });
      g.appendChild(svg('title', {}, x.label + ': ' + cellText(x.value)));
      g.appendChild(svg('text', { x: LABEL - 6, y: y + BAR_H - 5, 'text-anchor': 'end', class: 'bar-label' },
        x.label.length > 28 ? x.label.slice(0, 27) + '\u2026' : x.label));
      g.appendChild(svg('rect', { x: LABEL, y, width: w, height: BAR_H, rx: 2,
        fill: hidden ? `url(#${fig.id}-hatch)` : 'currentColor', class: 'bar-rect' }));
      g.appendChild(svg('text', { x: LABEL + w + 5, y: y + BAR_H - 5, class: 'bar-value' }, cellText(x.value)));
      s.appendChild(g);
    });
    fig.appendChild(s);
  }

  function renderCharts(ans) {
    const rows = $('r-chart-rows');
    rows.querySelector('figcaption').textContent = 'Records by ' +
      ans.by.map((d) => (d === 'month' ? 'month' : columnLabel(ans.form, d).toLowerCase())).join(' and ');
    barChart(rows, ans.rows.map((x) => ({ label: ans.by.map((d) => x.by[d]).join(' \u00b7 '), value: x.cells[0] })));
    const f = R.forms.get(ans.form);
    const booleans = new Set(f ? f.fields.filter((x) => x.type === 'boolean').map((x) => x.name) : []);
    const ind = [];
    ans.columns.forEach((c, i) => { if (booleans.has(c)) ind.push({ label: columnLabel(ans.form, c), value: ans.total[i] }); });
    barChart($('r-chart-ind'), ind);
  }

  /* --- asking -------------------------------------------------------- */

  $('report-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!checkDims()) return;
    const btn = $('r-run');
    btn.disabled = true;
    try {
      const ans = await R.api('/v1/review/report?' + params('json').toString());
      renderTable(ans);
      renderCharts(ans);
      $('r-body').hidden = false;
      const n = ans.total[0];
      R.message('r-msg', (n === HIDDEN ? 'Fewer than 5' : n) + ' records counted' +
        (ans.suppressed ? '; ' + ans.suppressed + ' cells hidden' : '') + '.');
    } catch (e) {
      if (e.status !== 401) R.message('r-msg', 'Could not make the report: ' + e.message, true);
    } finally {
      btn.disabled = false;
    }
  });

  $('r-csv').addEventListener('click', async () => {
    if (!checkDims()) return;
    const p = params('csv');
    try {
      const resp = await R.api('/v1/review/report?' + p.toString(), { raw: true });
      const blob = await resp.blob();
      const a = R.el('a', { href: URL.createObjectURL(blob), download: 'report-' + p.get('form') + '.csv' });
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      R.message('r-msg', 'Report downloaded. Reports are written to the audit log.');
    } catch (e) {
      if (e.status !== 401) R.message('r-msg', 'Could not download the report: ' + e.message, true);
    }
  });
})();
