/* viewer.js — the report's attention viewer: pick a prompt, a layer and a head, see the head's
 * pattern with the prompt's tokens on both axes; hover for the exact (8-bit) value. Reads the
 * data the report embeds in window.HS_VIEW (see report/section_attention.c):
 *   colors   256 six-digit hex colours of the sequential colour map
 *   prompts  [{label, T, tokens[T], layers[], heads[], rows[] (query positions),
 *             data: base64 of uint8 round(255 * A[q, k]) for k <= q, by layer, head, row}]
 * No libraries; it must not contain the two sequences that would end its CDATA section or its
 * script element (the report writer checks). Errors are shown on the page and set
 * data-error on #hs-viewer, which the browser test reads. */
(function () {
  'use strict';
  var root = document.getElementById('hs-viewer');
  if (!root) return;
  var readout = document.getElementById('hs-readout');
  function fail(msg) {
    root.setAttribute('data-error', msg);
    readout.textContent = msg;
    readout.className = 'error';
  }
  window.addEventListener('error', function (e) { fail('script error: ' + e.message); });

  var V = window.HS_VIEW;
  if (!V || !V.prompts || V.prompts.length === 0) {
    readout.textContent = 'No attention patterns are stored for the prompts of this store: record them ' +
      'with headscope run (its default --record includes pattern, as must a --record LIST).';
    root.setAttribute('data-ready', '1');
    return;
  }
  var lut = [];
  for (var c = 0; c < 256; c++) lut.push('#' + V.colors.substr(6 * c, 6));

  var selPrompt = document.getElementById('hs-prompt');
  var selLayer = document.getElementById('hs-layer');
  var selHead = document.getElementById('hs-head');
  var canvas = document.getElementById('hs-canvas');
  var ctx = canvas.getContext('2d');

  function option(sel, value, text) {
    var o = document.createElement('option');
    o.value = String(value);
    o.textContent = text;
    sel.appendChild(o);
  }
  V.prompts.forEach(function (p, i) { option(selPrompt, i, p.label); });

  function bytesOf(p) {
    if (!p.bytes) {
      var s = atob(p.data), b = new Uint8Array(s.length);
      for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
      p.bytes = b;
      var block = 0;
      for (var r = 0; r < p.rows.length; r++) block += p.rows[r] + 1;
      p.block = block;
      if (b.length !== block * p.layers.length * p.heads.length)
        throw new Error('pattern data of ' + p.label + ' has ' + b.length + ' bytes, expected ' +
                        block * p.layers.length * p.heads.length);
    }
    return p.bytes;
  }

  function fillLayersHeads() {
    var p = V.prompts[+selPrompt.value];
    var keepL = selLayer.value, keepH = selHead.value;
    selLayer.textContent = '';
    selHead.textContent = '';
    p.layers.forEach(function (l, i) { option(selLayer, i, 'L' + l); });
    p.heads.forEach(function (h, i) { option(selHead, i, 'H' + h); });
    if (keepL !== '' && +keepL < p.layers.length) selLayer.value = keepL;
    if (keepH !== '' && +keepH < p.heads.length) selHead.value = keepH;
  }

  var geom = null;
  function draw() {
    var p = V.prompts[+selPrompt.value];
    var li = +selLayer.value, hi = +selHead.value;
    var b = bytesOf(p);
    var T = p.T, n = p.rows.length;
    var cell = Math.max(3, Math.min(22, Math.floor(640 / Math.max(T, 1))));
    var font = '11px "DejaVu Sans", sans-serif';
    ctx.font = font;
    var labelW = 0;
    p.tokens.forEach(function (t) { labelW = Math.max(labelW, ctx.measureText(t).width); });
    labelW = Math.min(Math.ceil(labelW) + 8, 160);
    var showLabels = cell >= 9;
    var left = showLabels ? labelW : 8, top = showLabels ? labelW : 8;
    var w = left + T * cell + 8, h = top + n * cell + 8;
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.width = w + 'px';
    canvas.style.height = h + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, w, h);
    ctx.fillStyle = '#f0f0f3';
    ctx.fillRect(left, top, T * cell, n * cell);
    var off = (li * p.heads.length + hi) * p.block;
    for (var r = 0; r < n; r++) {
      var q = p.rows[r];
      for (var k = 0; k <= q; k++) {
        ctx.fillStyle = lut[b[off++]];
        ctx.fillRect(left + k * cell, top + r * cell, cell, cell);
      }
    }
    if (showLabels) {
      ctx.font = font;
      ctx.fillStyle = '#222222';
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      for (var r2 = 0; r2 < n; r2++)
        ctx.fillText(p.tokens[p.rows[r2]], left - 4, top + (r2 + 0.5) * cell, labelW - 6);
      for (var k2 = 0; k2 < T; k2++) {
        ctx.save();
        ctx.translate(left + (k2 + 0.5) * cell, top - 4);
        ctx.rotate(-Math.PI / 2);
        ctx.textAlign = 'left';
        ctx.fillText(p.tokens[k2], 0, 0, labelW - 6);
        ctx.restore();
      }
    }
    geom = {p: p, left: left, top: top, cell: cell, off: (li * p.heads.length + hi) * p.block};
    readout.className = '';
    readout.textContent = p.label + ' \u00b7 L' + p.layers[li] + 'H' + p.heads[hi] +
      ' \u00b7 queries down, keys across; hover a cell';
    root.setAttribute('data-ready', '1');
  }

  canvas.addEventListener('mousemove', function (ev) {
    if (!geom) return;
    var rect = canvas.getBoundingClientRect();
    var x = ev.clientX - rect.left - geom.left, y = ev.clientY - rect.top - geom.top;
    var k = Math.floor(x / geom.cell), r = Math.floor(y / geom.cell), p = geom.p;
    if (x < 0 || y < 0 || r >= p.rows.length || k >= p.T) return;
    var q = p.rows[r];
    if (k > q) {
      readout.textContent = 'query ' + q + ' cannot see key ' + k + ' (causal mask)';
      return;
    }
    var at = geom.off;
    for (var i = 0; i < r; i++) at += p.rows[i] + 1;
    var v = p.bytes[at + k] / 255;
    readout.textContent = 'query ' + q + ' ' + JSON.stringify(p.tokens[q]) + ' \u2192 key ' + k + ' ' +
      JSON.stringify(p.tokens[k]) + ': ' + v.toFixed(3);
  });

  function redraw() {
    try { draw(); } catch (e) { fail(String(e && e.message || e)); }
  }
  selPrompt.addEventListener('change', function () { fillLayersHeads(); redraw(); });
  selLayer.addEventListener('change', redraw);
  selHead.addEventListener('change', redraw);
  fillLayersHeads();
  redraw();
})();
