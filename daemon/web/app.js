/*
 * fieldsync review page.
 *
 * Talks only to this server's review API (docs/PROTOCOL.md, "Review API")
 * with the reviewer's token in an Authorization header; the token lives in
 * sessionStorage, never in a URL.  Every value from the server reaches the
 * page through textContent or a form control's value, never as HTML.
 * Sensitive values arrive masked; "Reveal" fetches them through an audited
 * endpoint.
 */
'use strict';

(function () {
  const TOKEN_KEY = 'fieldsync.review.token';
  const PAGE = 50;
  const STATUS_TEXT = { new: 'New', reviewed: 'Reviewed', follow_up: 'Follow up', referred: 'Referred' };

  const state = {
    forms: new Map(),   // id -> newest definition
    offset: 0,
    total: 0,
    selected: null,     // record id shown in the detail pane
    detail: null,       // last record answer
    revealed: null,     // last reveal answer for the selected record
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null) continue;
        if (k === 'text') node.textContent = String(v);
        else if (k === 'cls') node.className = v;
        else if (k === 'data') for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = dv;
        else node.setAttribute(k, v);
      }
    }
    for (const c of children || []) if (c) node.appendChild(c);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.detail) || ('HTTP ' + status));
      this.status = status;
      this.code = body && body.error;
    }
  }

  async function api(path, options) {
    const opts = options || {};
    const headers = { Authorization: 'Bearer ' + token() };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    const resp = await fetch(path, {
      method: opts.method || 'GET',
      headers,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      cache: 'no-store',
      credentials: 'omit',
    });
    if (opts.raw && resp.ok) return resp;
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (resp.status === 401) {
      signOut('Your token was not accepted (' + ((body && body.detail) || 'unauthorized') + '). Sign in again.');
      throw new ApiError(401, body);
    }
    if (!resp.ok) throw new ApiError(resp.status, body);
    return body;
  }

  /* --- value display ------------------------------------------------ */

  function fieldDef(formId, name) {
    const f = state.forms.get(formId);
    return f ? f.fields.find((x) => x.name === name) : undefined;
  }

  function label(formId, name) {
    const d = fieldDef(formId, name);
    return (d && d.label) || name;
  }

  function showValue(v) {
    if (v === null || v === undefined) return '\u2014';
    if (v === true) return 'Yes';
    if (v === false) return 'No';
    if (Array.isArray(v)) return v.map(showValue).join(', ');
    if (typeof v === 'object') {
      if ('lat' in v && 'lon' in v) return v.lat + ', ' + v.lon + ('acc' in v ? ' (\u00b1' + v.acc + ' m)' : '');
      return JSON.stringify(v);
    }
    return String(v);
  }

  // Local time as YYYY-MM-DD HH:MM: short, sortable, unambiguous.
  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    const two = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + ' ' +
      two(d.getHours()) + ':' + two(d.getMinutes());
  }

  // "Labour inspection: worksite screening" -> "Labour inspection".
  function shortTitle(formId) {
    const f = state.forms.get(formId);
    const t = (f && f.title) || formId;
    const i = t.indexOf(':');
    return i > 0 ? t.slice(0, i) : t;
  }

  function author(device, deviceId) {
    if (device === 'fieldsyncd') return 'headquarters (resolution)';
    return device || deviceId || '?';
  }

  // When a value was written: the milliseconds of its stamp (the device's clock, corrected by the server's).
  function stampTime(stamp) {
    const ms = typeof stamp === 'string' ? parseInt(stamp.slice(0, 12), 16) : NaN;
    return Number.isFinite(ms) && ms > 0 ? ', ' + when(new Date(ms).toISOString()) : '';
  }

  function statusBadge(status) {
    return el('span', { cls: 'badge ' + status, text: STATUS_TEXT[status] || status });
  }

  function message(id, text, bad) {
    const n = $(id);
    n.textContent = text || '';
    n.classList.toggle('bad', !!bad);
  }

  /* --- sign in ------------------------------------------------------ */

  function signOut(why) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('app-view').hidden = true;
    $('report-view').hidden = true;
    $('map-view').hidden = true;
    $('views').hidden = true;
    $('who').hidden = true;
    $('signin-view').hidden = false;
    $('token').value = '';
    message('signin-error', why || '');
    $('token').focus();
  }

  async function start() {
    let me;
    try {
      me = await api('/v1/review/me');
    } catch (e) {
      if (e.status !== 401) signOut(e.status === 403 ? 'This token may not review records (a field device token?).' : 'The server did not answer: ' + e.message);
      return;
    }
    state.me = me;
    try {
      state.agencies = await api('/v1/review/agencies');
    } catch (e) {
      state.agencies = { mine: null, agencies: [] };
    }
    // The teams whose records this token sees (null: every team).
    $('who-name').textContent = me.name + ' (' + me.role +
      (Array.isArray(me.teams) ? '; teams ' + me.teams.join(', ') : '') + ')';
    $('who').hidden = false;
    $('views').hidden = false;
    $('signin-view').hidden = true;
    showView('records');
    await loadForms();
    await loadList();
  }

  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (!/^[0-9a-f]{64}$/.test(t)) {
      message('signin-error', 'A token is 64 characters 0-9 and a-f.');
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, t);
    $('token').value = '';
    message('signin-error', '');
    start();
  });
  $('signout').addEventListener('click', () => signOut(''));

  /* --- forms and filters -------------------------------------------- */

  async function loadForms() {
    const ans = await api('/v1/forms');
    state.forms.clear();
    for (const f of ans.forms) {
      const cur = state.forms.get(f.id);
      if (!cur || cur.version < f.version) state.forms.set(f.id, f);
    }
    const sel = $('f-form');
    const keep = sel.value;
    clear(sel);
    sel.appendChild(el('option', { value: '', text: 'All forms' }));
    for (const f of state.forms.values()) sel.appendChild(el('option', { value: f.id, text: f.title || f.id }));
    sel.value = keep;
    fillFlags();
  }

  // Indicator filters: any number of yes/no questions that must be yes (all of them).
  function checkedFlags() {
    return [...$('f-flag-list').querySelectorAll('input:checked')].map((x) => x.value);
  }

  function flagSummary() {
    const n = checkedFlags().length;
    $('f-flags-sum').textContent = n ? n + ' chosen (all must be yes)' : 'Any';
  }

  function fillFlags() {
    const box = $('f-flag-list');
    const keep = new Set(checkedFlags());
    const formId = $('f-form').value;
    const seen = new Map();
    for (const f of state.forms.values()) {
      if (formId && f.id !== formId) continue;
      for (const fd of f.fields) if (fd.type === 'boolean' && !fd.sensitive && !seen.has(fd.name)) seen.set(fd.name, fd.label || fd.name);
    }
    clear(box);
    for (const [name, lab] of seen) {
      const cb = el('input', { type: 'checkbox', id: 'f-flag-' + name, value: name });
      cb.checked = keep.has(name);
      cb.addEventListener('change', flagSummary);
      box.appendChild(el('label', { cls: 'check', for: 'f-flag-' + name }, [cb, document.createTextNode(' ' + lab)]));
    }
    flagSummary();
  }

  function filterParams() {
    const p = new URLSearchParams();
    const add = (key, id) => { const v = $(id).value.trim(); if (v) p.set(key, v); };
    add('form', 'f-form');
    add('team', 'f-team');
    add('device', 'f-device');
    add('status', 'f-status');
    add('from', 'f-from');
    add('to', 'f-to');
    add('conflicts', 'f-conflicts');
    add('q', 'f-q');
    add('assigned', 'f-assigned');
    add('referred', 'f-referred');
    for (const name of checkedFlags()) p.append('flag', name);
    if ((p.has('from') || p.has('to')) && $('f-date').value === 'created') p.set('date', 'created');
    return p;
  }

  $('f-form').addEventListener('change', fillFlags);
  $('filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.offset = 0;
    loadList();
  });
  $('reset-filters').addEventListener('click', () => {
    $('filters').reset();
    for (const cb of $('f-flag-list').querySelectorAll('input')) cb.checked = false;
    fillFlags();
    state.offset = 0;
    loadList();
  });

  /* --- record list -------------------------------------------------- */

  async function loadList() {
    const p = filterParams();
    if ($('f-sort').value !== 'updated') p.set('sort', $('f-sort').value);
    p.set('limit', String(PAGE));
    p.set('offset', String(state.offset));
    let ans;
    try {
      ans = await api('/v1/review/records?' + p.toString());
    } catch (e) {
      if (e.status !== 401) message('list-msg', 'Could not load the records: ' + e.message, true);
      return;
    }
    message('list-msg', '');
    state.total = ans.total;
    const body = $('records').tBodies[0];
    clear(body);
    for (const r of ans.records) body.appendChild(listRow(r));
    $('count').textContent = ans.total + (ans.total === 1 ? ' record' : ' records');
    const last = Math.min(state.offset + ans.records.length, ans.total);
    $('page').textContent = ans.total ? (state.offset + 1) + '\u2013' + last + ' of ' + ans.total : '';
    $('prev').disabled = state.offset === 0;
    $('next').disabled = last >= ans.total;
    if (!ans.records.length) message('list-msg', 'No record matches these filters.');
  }

  // The form's date question (its first required date or date-time), for the list's Date column.
  function dateField(formId) {
    const f = state.forms.get(formId);
    const d = f && f.fields.find((x) => (x.type === 'date' || x.type === 'datetime') && x.required);
    return d ? d.name : null;
  }

  // One line per record (issue 20): date, what, where, indicators, risk, who, status.
  function listRow(r) {
    const flags = r.flags.map((n) => label(r.form, n));
    const v = r.values || {};
    const df = dateField(r.form);
    const date = df && v[df] ? String(v[df]).slice(0, 10) : when(r.created_at).slice(0, 10);
    const where = v.sector || v.checkpoint || '';
    const count = typeof v.indicator_count === 'number' ? v.indicator_count : flags.length;
    const risk = v.risk_level || '';
    const tip = (a, b) => (b ? a + ': ' + b : a);
    const tr = el('tr', { tabindex: '0', data: { id: r.id } }, [
      el('td', { cls: 'when', text: date, title: tip(shortTitle(r.form) + ' v' + r.form_version, 'updated ' + when(r.updated_at)) }),
      el('td', { cls: 'summary', text: r.summary || '(no summary)', title: r.summary || '' }),
      el('td', { cls: 'nw', text: v.district || '' }),
      el('td', { cls: 'nw', text: where, title: where }),
      el('td', { cls: 'num', text: String(count), title: flags.join(', ') }),
      el('td', null, [risk ? el('span', { cls: 'badge risk-' + risk, text: risk }) : null]),
      el('td', { cls: 'nw' + (r.assigned_to ? '' : ' muted'), title: 'team ' + r.team + ', recorded by ' + r.created_by,
        text: r.assigned_to || r.team }),
      el('td', { cls: 'badges' }, [statusBadge(r.review_status),
        r.deleted ? el('span', { cls: 'badge deleted', text: 'deleted' }) : null,
        r.open_conflicts ? el('span', { cls: 'badge conflict', text: r.open_conflicts + (r.open_conflicts === 1 ? ' conflict' : ' conflicts') }) : null]),
    ]);
    if (r.deleted) tr.classList.add('deleted');
    if (r.id === state.selected) tr.classList.add('selected');
    const open = () => openRecord(r.id);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') open(); });
    return tr;
  }

  $('prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - PAGE); loadList(); });
  $('next').addEventListener('click', () => { state.offset += PAGE; loadList(); });

  /* --- one record --------------------------------------------------- */

  async function openRecord(id) {
    state.selected = id;
    state.revealed = null;
    $('unlock-form').hidden = true;
    for (const tr of $('records').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.id === id);
    let ans;
    try {
      ans = await api('/v1/review/records/' + encodeURIComponent(id));
    } catch (e) {
      if (e.status !== 401) message('d-msg', 'Could not load the record: ' + e.message, true);
      return;
    }
    state.detail = ans;
    message('d-msg', '');
    renderDetail();
  }

  function revealedValue(name) {
    const rv = state.revealed;
    return rv && Object.prototype.hasOwnProperty.call(rv.fields, name) ? { ok: true, v: rv.fields[name] } : { ok: false };
  }

  function valueCell(masked, name, value, stampForCandidate) {
    if (!masked) return el('span', { cls: 'v', text: showValue(value) });
    if (state.revealed) {
      let r = { ok: false };
      if (stampForCandidate) {
        const c = state.revealed.candidates.find((x) => x.field === name && x.stamp === stampForCandidate);
        if (c) r = { ok: true, v: c.value };
        else r = revealedValue(name);
      } else {
        r = revealedValue(name);
      }
      if (r.ok) return el('span', { cls: 'v revealed', text: showValue(r.v) });
    }
    return el('span', { cls: 'masked', text: '\u2022\u2022\u2022\u2022 hidden' });
  }

  function renderDetail() {
    const d = state.detail;
    const rec = d.record;
    $('detail-empty').hidden = true;
    $('detail-body').hidden = false;
    const title = d.fields.find((f) => f.type === 'text' && !f.sensitive && f.value);
    $('d-title').textContent = title ? showValue(title.value) : (d.form.title || rec.form);
    const meta = $('d-meta');
    clear(meta);
    meta.appendChild(el('span', { text: (d.form.title || rec.form) + ' v' + rec.form_version }));
    meta.appendChild(el('span', { text: 'team ' + rec.team }));
    meta.appendChild(el('span', { text: 'by ' + rec.created_by }));
    meta.appendChild(el('span', { text: 'created ' + when(rec.created_at) }));
    meta.appendChild(el('span', { text: 'updated ' + when(rec.updated_at) }));
    meta.appendChild(el('span', { cls: 'mono', text: rec.id }));
    if (rec.deleted) meta.appendChild(el('span', { text: 'deleted on the devices' }));
    $('d-owner').textContent = rec.assigned_to ? 'Assigned to ' + rec.assigned_to + '.' : 'Assigned to nobody.';
    $('unassign').disabled = !rec.assigned_to;
    $('assign-me').disabled = !!(state.me && rec.assigned_to === state.me.name);
    const badge = $('d-status');
    badge.className = 'badge ' + rec.review_status;
    badge.textContent = STATUS_TEXT[rec.review_status] || rec.review_status;
    const viaReferral = d.access === 'referral';
    $('d-review-box').hidden = viaReferral;
    $('d-access').hidden = !viaReferral;
    $('d-access').textContent = viaReferral
      ? 'Referred to your agency: you see this record, and its history since ' + when(d.history_since) +
        '. Its own team keeps its review status.'
      : '';
    renderReferrals(d);
    renderConflicts(d);
    renderFields(d);
    renderHistory(d);
  }

  /* --- referrals (issue 20) ----------------------------------------- */

  const REFERRAL_TEXT = { open: 'Open', accepted: 'Accepted', declined: 'Declined', closed: 'Closed' };

  function agencyTitle(name) {
    const a = (state.agencies.agencies || []).find((x) => x.name === name);
    return a ? a.title : name;
  }

  function renderReferrals(d) {
    const list = $('d-referrals');
    clear(list);
    const refs = d.referrals || [];
    const isReferral = d.record.form === 'referral';
    $('d-ref-box').hidden = isReferral || (!refs.length && d.access !== 'team');
    for (const r of refs) {
      const li = el('li', { data: { referral: r.id } }, [
        el('span', { text: r.agency_title || agencyTitle(r.agency) }),
        el('span', { cls: 'mono', text: r.case_number }),
        el('span', { cls: 'ref-status', text: REFERRAL_TEXT[r.status] || r.status }),
        el('span', { cls: 'small muted', text: (r.owner ? 'owner ' + r.owner : 'no owner') +
          (r.due ? ' \u00b7 due ' + r.due : '') + ' \u00b7 by ' + r.created_by + ' ' + when(r.created_at) }),
      ]);
      const ours = state.agencies.mine && r.agency === state.agencies.mine;
      if (ours || (state.me && state.me.role === 'admin')) {
        const box = el('div', { cls: 'ref-answer' });
        if (r.status === 'open') {
          const accept = el('button', { type: 'button', text: 'Accept (I own it)' });
          accept.addEventListener('click', () => answerReferral(r.id, { status: 'accepted', owner: state.me.name }, accept));
          const why = el('input', { placeholder: 'Reason to decline', maxlength: '2000', 'aria-label': 'Reason to decline' });
          const decline = el('button', { type: 'button', text: 'Decline' });
          decline.addEventListener('click', () => {
            const reason = why.value.trim();
            if (!reason) { message('d-msg', 'Say why the referral is declined.', true); return; }
            if (!window.confirm('Decline this referral? Your agency will no longer see the record.')) return;
            answerReferral(r.id, { status: 'declined', reason }, decline);
          });
          box.append(accept, why, decline);
        } else if (r.status === 'accepted') {
          const close = el('button', { type: 'button', text: 'Close the case' });
          close.addEventListener('click', () => answerReferral(r.id, { status: 'closed' }, close));
          box.append(close);
        }
        if (box.childNodes.length) li.appendChild(box);
      }
      list.appendChild(li);
    }
    if (!refs.length) list.appendChild(el('li', { cls: 'muted small', text: 'Not referred to another agency.' }));
    // Only the record's own teams refer it on.
    const form = $('refer-form');
    form.hidden = d.access !== 'team' || isReferral;
    const sel = $('ref-agency');
    clear(sel);
    for (const a of state.agencies.agencies || []) {
      if (a.name === state.agencies.mine) continue;
      sel.appendChild(el('option', { value: a.name, text: a.title }));
    }
    if (!sel.options.length) form.hidden = true;
  }

  async function answerReferral(id, body, btn) {
    btn.disabled = true;
    try {
      await api('/v1/review/referrals/' + encodeURIComponent(id), { method: 'POST', body });
      const revealed = state.revealed;
      await openRecord(state.selected);
      if (revealed && state.detail) {
        state.revealed = revealed;
        renderDetail();
      }
      message('d-msg', 'Referral ' + (REFERRAL_TEXT[body.status] || 'updated').toLowerCase() + '.');
      loadList();
    } catch (e) {
      if (e.status !== 401) message('d-msg', 'Could not answer the referral: ' + e.message, true);
    } finally {
      btn.disabled = false;
    }
  }

  $('refer-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!state.selected) return;
    const body = { agency: $('ref-agency').value, reason: $('ref-reason').value.trim() };
    if (!body.reason) { message('d-msg', 'Give the reason for the referral.', true); return; }
    if ($('ref-due').value) body.due = $('ref-due').value;
    const btn = $('ref-go');
    btn.disabled = true;
    try {
      const ans = await api('/v1/review/records/' + encodeURIComponent(state.selected) + '/refer', { method: 'POST', body });
      $('ref-reason').value = '';
      $('ref-due').value = '';
      const revealed = state.revealed;
      await openRecord(state.selected);
      if (revealed) {
        state.revealed = revealed;
        renderDetail();
      }
      message('d-msg', 'Referred to ' + ans.agency_title + ', case ' + ans.case_number + '.');
    } catch (e) {
      if (e.status !== 401) message('d-msg', 'Could not refer: ' + e.message, true);
    } finally {
      btn.disabled = false;
    }
  });

  function renderFields(d) {
    const body = $('d-fields').tBodies[0];
    clear(body);
    let anySensitive = false;
    for (const f of d.fields) {
      if (f.sensitive && (f.masked || f.value !== null)) anySensitive = true;
      const labelCell = el('td', { cls: 'label', text: f.label });
      if (f.sensitive) labelCell.appendChild(el('span', { cls: 'sens', text: 'sensitive' }));
      const vc = el('td', { cls: 'value', data: { field: f.name } }, [valueCell(f.masked, f.name, f.value)]);
      if (f.stamp) vc.appendChild(el('span', { cls: 'by', text: 'by ' + author(f.device, f.device_id) }));
      const tr = el('tr', { cls: f.value === null && !f.masked ? 'unset' : '' }, [labelCell, vc]);
      body.appendChild(tr);
    }
    const btn = $('reveal');
    btn.hidden = !anySensitive || !!state.revealed;
  }

  function renderConflicts(d) {
    const box = $('d-conflicts');
    clear(box);
    $('d-conflicts-box').hidden = !d.conflicts.length && !d.delete_conflict;
    // Merge rule 2: deleted on one device, edited on another that had not seen the delete.
    if (d.delete_conflict) {
      const dc = d.delete_conflict;
      const wrap = el('div', { cls: 'conflict-field delete-conflict', data: { field: '@record' } }, [
        el('h4', { text: 'Deleted on one device, edited on another' })]);
      for (const x of dc.deletes || []) {
        wrap.appendChild(el('p', { cls: 'by', text: 'Deleted by ' + author(x.device, x.device_id) + ' (stamp ' + x.stamp + ')' }));
      }
      for (const x of dc.edits || []) {
        wrap.appendChild(el('p', { cls: 'by', text: 'Edited without seeing the delete: ' + label(d.record.form, x.field) + ', by ' + author(x.device, x.device_id) }));
      }
      wrap.appendChild(el('p', { text: 'The record keeps every value until you decide.' }));
      const del = el('button', { type: 'button', cls: 'keep', text: 'Confirm the delete', data: { record: 'delete' } });
      const keep = el('button', { type: 'button', cls: 'keep', text: 'Keep the record', data: { record: 'keep' } });
      del.addEventListener('click', () => resolveRecord('delete', del));
      keep.addEventListener('click', () => resolveRecord('keep', keep));
      wrap.appendChild(el('div', { cls: 'candidate' }, [del, keep]));
      box.appendChild(wrap);
    }
    for (const c of d.conflicts) {
      const wrap = el('div', { cls: 'conflict-field', data: { field: c.field } }, [el('h4', { text: c.label })]);
      const cands = [];
      if (c.current) cands.push(Object.assign({ current: true }, c.current));
      for (const x of c.candidates) cands.push(x);
      for (const x of cands) {
        const btn = el('button', { type: 'button', cls: 'keep', text: 'Keep this value', data: { stamp: x.stamp } });
        // Two steps: a conflict's resolution goes back to every device.
        btn.addEventListener('click', () => {
          if (!btn.classList.contains('confirming')) {
            for (const b of box.querySelectorAll('button.confirming')) { b.classList.remove('confirming'); b.textContent = 'Keep this value'; }
            btn.classList.add('confirming');
            btn.textContent = 'Confirm: keep this one';
            return;
          }
          resolve(c.field, x.stamp, btn);
        });
        wrap.appendChild(el('div', { cls: 'candidate' + (x.current ? ' current' : '') }, [
          el('div', null, [
            valueCell(x.masked, c.field, x.value, x.stamp),
            el('span', { cls: 'by', text: (x.current ? 'current value, ' : '') + 'written by ' +
              author(x.device, x.device_id) + stampTime(x.stamp) }),
          ]),
          btn,
        ]));
      }
      box.appendChild(wrap);
    }
  }

  const SIGNATURE_TEXT = {
    valid: 'Signature valid: signed by this device, unchanged since',
    unsigned: 'Not signed (recorded before signatures)',
    invalid: 'SIGNATURE DOES NOT VERIFY: altered after it was signed',
  };

  function renderHistory(d) {
    const list = $('d-history');
    clear(list);
    const counts = { valid: 0, unsigned: 0, invalid: 0 };
    for (const h of d.history) counts[h.signature in counts ? h.signature : 'invalid']++;
    $('d-custody').textContent = counts.valid + ' of ' + d.history.length + ' change(s) signed and verified' +
      (counts.unsigned ? ', ' + counts.unsigned + ' from before signatures' : '') +
      (counts.invalid ? ', ' + counts.invalid + ' NOT VERIFYING' : '') + '.';
    const items = [];
    for (const h of d.history) items.push({ at: h.received_at, change: h });
    for (const e of d.events) items.push({ at: e.at, event: e });
    items.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    for (const it of items) {
      if (it.change) {
        const h = it.change;
        const rev = state.revealed && state.revealed.history.find((x) => x.seq === h.seq);
        const lines = el('div', { cls: 'changes' });
        for (const [name, v] of Object.entries(h.fields || {})) {
          let shown;
          if (h.masked.includes(name)) {
            shown = rev && rev.fields && name in rev.fields ? showValue(rev.fields[name]) : '\u2022\u2022\u2022\u2022 hidden';
          } else {
            shown = showValue(v);
          }
          lines.appendChild(el('span', { text: label(d.record.form, name) + ': ' + shown }));
        }
        const who = author(h.device, h.device_id);
        const sig = SIGNATURE_TEXT[h.signature] || SIGNATURE_TEXT.invalid;
        list.appendChild(el('li', null, [
          el('div', { cls: 'when', text: when(h.received_at) + ' \u00b7 ' + (h.op === 'delete' ? 'deleted by ' : 'changed by ') + who }),
          lines,
          el('div', { cls: 'by mono', text: h.hlc + ' \u00b7 device ' + h.device_id }),
          el('div', { cls: 'sig ' + (h.signature || 'invalid'), text: sig }),
        ]));
      } else {
        const e = it.event;
        const what = e.kind === 'status'
          ? 'Status set to ' + (STATUS_TEXT[e.status] || e.status)
          : e.kind === 'assign' ? (e.status ? 'Assigned to ' + e.status : 'Unassigned')
          : e.kind === 'referral' ? referralEventText(e.status)
          : e.field === '@record' ? 'Delete-or-keep conflict resolved'
          : 'Conflict on ' + label(d.record.form, e.field) + ' resolved';
        const li = el('li', { cls: 'event' }, [
          el('div', { cls: 'when', text: when(e.at) + ' \u00b7 ' + e.actor }),
          el('div', { text: what }),
        ]);
        if (e.note) li.appendChild(el('div', { cls: 'muted', text: '\u201c' + e.note + '\u201d' }));
        list.appendChild(li);
      }
    }
  }

  function referralEventText(status) {
    const i = (status || '').lastIndexOf(':');
    const agency = i > 0 ? status.slice(0, i) : status;
    const st = i > 0 ? status.slice(i + 1) : '';
    return st === 'open' ? 'Referred to ' + agencyTitle(agency)
      : 'Referral to ' + agencyTitle(agency) + ': ' + (REFERRAL_TEXT[st] || st).toLowerCase();
  }

  // The printed case file (issue 16): audited first, then the browser's print.
  async function printCaseFile(btn) {
    const d = state.detail;
    if (!d) return;
    btn.disabled = true;
    try {
      await api('/v1/review/records/' + encodeURIComponent(d.record.id) + '/print', {
        method: 'POST', body: { revealed: !!state.revealed },
      });
    } catch (e) {
      if (e.status !== 401) message('d-msg', 'Not printed: the print could not be audited (' + e.message + ')', true);
      btn.disabled = false;
      return;
    }
    btn.disabled = false;
    $('d-print-note').textContent = 'Case file of record ' + d.record.id + ', printed ' +
      new Date().toISOString() + ' by ' + (state.me ? state.me.name : 'a reviewer') +
      (state.revealed ? '. Sensitive values shown after an audited reveal.' : '. Sensitive values hidden.');
    window.print();
  }

  async function setStatus(status, btn) {
    if (!state.selected) return;
    btn.disabled = true;
    try {
      const note = $('d-note').value.trim();
      await api('/v1/review/records/' + encodeURIComponent(state.selected) + '/status', {
        method: 'POST', body: note ? { status, note } : { status },
      });
      $('d-note').value = '';
      // A status leaves the values as they are: what was revealed stays shown.
      const revealed = state.revealed;
      await openRecord(state.selected);
      if (revealed) {
        state.revealed = revealed;
        renderDetail();
      }
      message('d-msg', 'Status set to ' + STATUS_TEXT[status] + '.');
      loadList();
    } catch (e) {
      if (e.status !== 401) message('d-msg', 'Could not set the status: ' + e.message, true);
    } finally {
      btn.disabled = false;
    }
  }

  // Assignment (issue 20): the record goes to a reviewer's queue; kept revealed values stay shown.
  async function assign(to, btn) {
    if (!state.selected) return;
    btn.disabled = true;
    try {
      const note = $('d-note').value.trim();
      await api('/v1/review/records/' + encodeURIComponent(state.selected) + '/assign', {
        method: 'POST', body: note ? { to, note } : { to },
      });
      $('d-note').value = '';
      $('assign-to').value = '';
      const revealed = state.revealed;
      await openRecord(state.selected);
      if (revealed) {
        state.revealed = revealed;
        renderDetail();
      }
      message('d-msg', to ? 'Assigned to ' + to + '.' : 'Unassigned.');
      loadList();
    } catch (e) {
      if (e.status !== 401) message('d-msg', 'Could not assign: ' + e.message, true);
    } finally {
      btn.disabled = false;
    }
  }
  $('assign-me').addEventListener('click', () => assign(state.me.name, $('assign-me')));
  $('assign-go').addEventListener('click', () => {
    const to = $('assign-to').value.trim();
    if (to) assign(to, $('assign-go'));
  });
  $('unassign').addEventListener('click', () => assign(null, $('unassign')));

  for (const b of document.querySelectorAll('.status-btn')) {
    b.addEventListener('click', () => setStatus(b.dataset.status, b));
  }

  async function resolve(field, stamp, btn) {
    btn.disabled = true;
    try {
      const note = $('d-note').value.trim();
      const body = { field, stamp };
      if (note) body.note = note;
      await api('/v1/review/records/' + encodeURIComponent(state.selected) + '/resolve', { method: 'POST', body });
      $('d-note').value = '';
      // Reloaded values are masked again: reveal again if needed (audited).
      await openRecord(state.selected);
      message('d-msg', 'Conflict resolved; the devices receive the chosen value on their next sync.');
      loadList();
    } catch (e) {
      if (e.status !== 401) message('d-msg', 'Could not resolve: ' + e.message, true);
      btn.disabled = false;
    }
  }

  async function resolveRecord(choice, btn) {
    btn.disabled = true;
    try {
      const note = $('d-note').value.trim();
      const body = { record: choice };
      if (note) body.note = note;
      await api('/v1/review/records/' + encodeURIComponent(state.selected) + '/resolve', { method: 'POST', body });
      $('d-note').value = '';
      await openRecord(state.selected);
      message('d-msg', choice === 'delete'
        ? 'Delete confirmed; the devices remove the record on their next sync.'
        : 'Record kept; the devices keep it on their next sync.');
      loadList();
    } catch (e) {
      if (e.status !== 401) message('d-msg', 'Could not resolve: ' + e.message, true);
      btn.disabled = false;
    }
  }

  async function reveal() {
    if (!state.selected) return;
    try {
      state.revealed = await api('/v1/review/records/' + encodeURIComponent(state.selected) + '/reveal', { method: 'POST', body: {} });
      renderDetail();
      message('d-msg', 'Sensitive values shown. This was written to the audit log.');
    } catch (e) {
      if (e.status === 403 && e.code === 'key_locked') {
        // Sealed values (issue 17): this reviewer unlocks the key first.
        $('unlock-form').hidden = false;
        $('unlock-pass').focus();
        message('d-msg', 'These values are sealed: unlock the sealing key to reveal them.');
        return;
      }
      if (e.status !== 401) message('d-msg', 'Could not reveal: ' + e.message, true);
    }
  }

  async function unlock(ev) {
    ev.preventDefault();
    const input = $('unlock-pass');
    const passphrase = input.value;
    input.value = '';  // not kept in the page
    $('unlock-go').disabled = true;
    try {
      const u = await api('/v1/review/unlock', { method: 'POST', body: { passphrase } });
      $('unlock-form').hidden = true;
      $('unlock-state').hidden = false;
      // The daemon wipes the key when its time is up; the notice goes with it.
      setTimeout(() => { $('unlock-state').hidden = true; }, u.unlocked_seconds * 1000);
      await reveal();
    } catch (e) {
      if (e.status === 403 && e.code === 'wrong_passphrase') message('d-msg', 'Wrong passphrase.', true);
      else if (e.status !== 401) message('d-msg', 'Could not unlock: ' + e.message, true);
    } finally {
      $('unlock-go').disabled = false;
    }
  }

  async function lock() {
    try {
      await api('/v1/review/lock', { method: 'POST', body: {} });
      $('unlock-state').hidden = true;
      message('d-msg', 'Sealing key locked.');
    } catch (e) {
      if (e.status !== 401) message('d-msg', 'Could not lock: ' + e.message, true);
    }
  }

  $('reveal').addEventListener('click', reveal);
  $('unlock-form').addEventListener('submit', unlock);
  $('lock').addEventListener('click', lock);
  $('print').addEventListener('click', () => printCaseFile($('print')));

  /* --- export ------------------------------------------------------- */

  $('export').addEventListener('click', async () => {
    const p = filterParams();
    p.delete('limit');
    if (!p.get('form')) {
      message('list-msg', 'Choose a form to export.', true);
      return;
    }
    p.set('format', $('export-format').value);
    if ($('export-sensitive').checked) p.set('include_sensitive', '1');
    const btn = $('export');
    btn.disabled = true;
    try {
      const resp = await api('/v1/review/export?' + p.toString(), { raw: true });
      const blob = await resp.blob();
      const cd = resp.headers.get('Content-Disposition') || '';
      const m = /filename="([^"]+)"/.exec(cd);
      const a = el('a', { href: URL.createObjectURL(blob), download: m ? m[1] : 'export.' + p.get('format') });
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      message('list-msg', 'Export downloaded. Exports are written to the audit log.');
    } catch (e) {
      if (e.status !== 401) message('list-msg', 'Could not export: ' + e.message, true);
    } finally {
      btn.disabled = false;
    }
  });

  /* --- go ----------------------------------------------------------- */

  /* --- views: records, report (report.js), map (map.js) -------------- */

  const VIEWS = { records: 'app-view', report: 'report-view', map: 'map-view' };
  function showView(name) {
    for (const [v, id] of Object.entries(VIEWS)) {
      $(id).hidden = v !== name;
      $('view-' + v).setAttribute('aria-pressed', String(v === name));
    }
    document.dispatchEvent(new CustomEvent('fs-view', { detail: name }));
  }
  for (const v of Object.keys(VIEWS)) $('view-' + v).addEventListener('click', () => showView(v));

  // What report.js and map.js share with this file.
  window.fsReview = Object.freeze({ api, el, clear, message, forms: state.forms, showView, openRecord });
  if (token()) start(); else signOut('');
})();
