/*
 * fieldsync review page: the map (issue 20, item 5).
 *
 * Draws the outline of Belize this server carries (/belize.json, made from
 * Natural Earth by daemon/web/make-outline.py) in SVG, with no tile server
 * and no library, so it works offline; plots the records of a form where
 * they were made (GET /v1/review/points), coloured by risk level; a click
 * opens the record in the Records view.  Shares app.js's helpers through
 * window.fsReview; values reach the page through attributes and
 * textContent only.
 */
'use strict';

(function () {
  const R = window.fsReview;
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const W = 560;
  let outline = null;

  function svg(tag, attrs, text) {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = String(text);
    return n;
  }

  function fillForms() {
    const sel = $('m-form');
    const keep = sel.value;
    R.clear(sel);
    for (const f of R.forms.values()) {
      if (f.fields.some((x) => x.type === 'geopoint' && !x.sensitive)) {
        sel.appendChild(R.el('option', { value: f.id, text: f.title || f.id }));
      }
    }
    if (keep) sel.value = keep;
  }

  document.addEventListener('fs-view', async (ev) => {
    if (ev.detail !== 'map') return;
    fillForms();
    if (!outline) {
      try {
        const resp = await fetch('/belize.json', { cache: 'no-store', credentials: 'omit' });
        outline = await resp.json();
      } catch (e) {
        R.message('m-msg', 'Could not load the outline of Belize: ' + e.message, true);
      }
    }
    if (outline && !$('m-svg').firstChild) draw([]);
  });

  /* Equirectangular, stretched by cos(latitude) at the middle of the box. */
  function projection(box) {
    const [lon0, lat0, lon1, lat1] = box;
    const k = Math.cos(((lat0 + lat1) / 2) * Math.PI / 180);
    const scale = W / ((lon1 - lon0) * k);
    const H = (lat1 - lat0) * scale;
    return { H, at: (lon, lat) => [(lon - lon0) * k * scale, (lat1 - lat) * scale] };
  }

  function pathOf(rings, p) {
    return rings.map((ring) => ring.map(([lon, lat], i) => {
      const [x, y] = p.at(lon, lat);
      return (i ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
    }).join('') + 'Z').join('');
  }

  function draw(points) {
    const s = $('m-svg');
    R.clear(s);
    const p = projection(outline.box);
    s.setAttribute('viewBox', `0 0 ${W} ${p.H.toFixed(0)}`);
    s.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    s.appendChild(svg('rect', { x: 0, y: 0, width: W, height: p.H.toFixed(0), class: 'sea' }));
    s.appendChild(svg('path', { d: pathOf(outline.neighbours, p), class: 'neighbour' }));
    s.appendChild(svg('path', { d: pathOf(outline.belize, p), class: 'land' }));
    for (const d of outline.districts) {
      const [x, y] = p.at(d.lon, d.lat);
      s.appendChild(svg('text', { x: x.toFixed(1), y: y.toFixed(1), class: 'district', 'text-anchor': 'middle' }, d.name));
    }
    const [lon0, lat0, lon1, lat1] = outline.box;
    let outside = 0;
    // Thousands of points: built in a fragment, one circle element each
    // (no child, no listener); the svg element listens for all of them
    // and a point's tooltip is made when the pointer first reaches it.
    const frag = document.createDocumentFragment();
    for (const pt of points) {
      if (pt.lon < lon0 || pt.lon > lon1 || pt.lat < lat0 || pt.lat > lat1) {
        outside++;
        continue;
      }
      const [x, y] = p.at(pt.lon, pt.lat);
      const risk = RISKS.has(pt.risk) ? pt.risk : 'none';
      const c = document.createElementNS(SVG, 'circle');
      c.setAttribute('cx', x.toFixed(1));
      c.setAttribute('cy', y.toFixed(1));
      c.setAttribute('r', '6');
      c.setAttribute('class', 'point risk-' + risk);
      c.setAttribute('tabindex', '0');
      c.setAttribute('data-id', pt.id);
      if (pt.risk) c.setAttribute('data-risk', pt.risk);
      frag.appendChild(c);
    }
    s.appendChild(frag);
    return outside;
  }

  const RISKS = new Set(['high', 'medium', 'low']);
  const pointOf = (ev) => (ev.target instanceof Element ? ev.target.closest('circle.point') : null);
  const openPoint = (c) => { R.showView('records'); R.openRecord(c.getAttribute('data-id')); };
  $('m-svg').addEventListener('click', (ev) => { const c = pointOf(ev); if (c) openPoint(c); });
  $('m-svg').addEventListener('keydown', (ev) => {
    const c = pointOf(ev);
    if (c && ev.key === 'Enter') openPoint(c);
  });
  const titled = (ev) => {
    const c = pointOf(ev);
    if (!c || c.firstChild) return;
    const risk = c.getAttribute('data-risk');
    c.appendChild(svg('title', {}, 'Record ' + c.getAttribute('data-id') + (risk ? ', risk ' + risk : '')));
  };
  $('m-svg').addEventListener('pointerover', titled);
  $('m-svg').addEventListener('focusin', titled);

  $('map-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!outline || !$('m-form').value) {
      R.message('m-msg', $('m-form').value ? 'The outline of Belize is not loaded.' : 'No form has a location question.', true);
      return;
    }
    let ans;
    try {
      ans = await R.api('/v1/review/points?form=' + encodeURIComponent($('m-form').value));
    } catch (e) {
      if (e.status !== 401) R.message('m-msg', 'Could not load the records: ' + e.message, true);
      return;
    }
    const outside = draw(ans.points);
    const shown = ans.points.length - outside;
    R.message('m-msg', shown + (shown === 1 ? ' record' : ' records') + ' on the map' +
      (outside ? '; ' + outside + ' located outside Belize' : '') +
      (ans.without_location ? '; ' + ans.without_location + ' without a location' : '') + '.');
  });
})();
