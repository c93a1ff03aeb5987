/* viewer.js — the report's attention viewer. Pick a prompt (any prompt of any run the report holds),
 * a layer and a head: a grid shows every head of the layer (click one to pick it), the prompt's
 * tokens are coloured by what the hovered or clicked token attends to, and the picked head's
 * pattern is drawn with the tokens on both axes at a cell size where they stay legible: a long
 * prompt is a window onto the pattern, scrolled and zoomed, and the page says which positions are
 * in view. A legend gives the colour scale; hovering any cell shows its value.
 *
 * Data (see report/section_attention.c). The page sets window.HS_VIEW = {
 *   colors   256 six-digit hex colours of the sequential colour map, for 0 .. 1
 *   limit    --viewer-prompts (-1: all)
 *   runs     [{label, prompts: [[id, idx, T, label], ...], left_out, incomplete}] }
 * and viewer/pID.js, added as a <script> when prompt ID is picked (browsers refuse fetch() of
 * file:// URLs), calls HS_VIEW.add(ID, {T, tokens[T], layers[], heads[], rows[] (query positions),
 *   data: base64 of uint8 round(255 * A[q, k]) for k <= q, by layer, head, row}).
 * A view has a link: #attention-viewer?prompt=ID&layer=L&head=H.
 *
 * No libraries; it must not contain the two sequences that would end its CDATA section or its
 * script element (the report writer checks). Errors are shown on the page and set data-error on
 * #hs-viewer; data-ready is 1 once the picked view is drawn (the browser tests read both). */
(function () {
  'use strict';
  var root = document.getElementById('hs-viewer');
  if (!root) return;
  function $(id) { return document.getElementById(id); }
  var readout = $('hs-readout'), tip = $('hs-tip');
  function fail(msg) {
    root.setAttribute('data-error', msg);
    readout.textContent = msg;
    readout.className = 'error';
  }
  window.addEventListener('error', function (e) { fail('script error: ' + e.message); });

  var css = document.createElement('style');
  css.textContent =
    '#hs-viewer .hs-controls{display:flex;flex-wrap:wrap;gap:6px 4px;align-items:center}' +
    '#hs-viewer button{margin-right:6px}#hs-prompt{max-width:620px}' +
    '#hs-legend{display:flex;align-items:flex-start;gap:12px;margin:10px 0 4px;font-size:.85em;color:#333}' +
    '#hs-legend .hs-bar{position:relative;display:inline-block;width:256px;height:30px}' +
    '#hs-legend canvas,#hs-heads canvas,#hs-scroll canvas{border:0;margin:0;display:block}' +
    '#hs-legend .hs-tick{position:absolute;top:14px;transform:translateX(-50%);font-size:.85em}' +
    '#hs-legend .hs-swatch{display:inline-block;width:12px;height:12px;background:#f0f0f3;' +
    'border:1px solid #ccc;vertical-align:-2px;margin-right:4px}' +
    '#hs-viewer .hs-title{margin:14px 0 4px;font-weight:bold;font-size:.92em}' +
    '#hs-heads{display:flex;flex-wrap:wrap;gap:8px}' +
    '#hs-heads .hs-head{cursor:pointer;text-align:center;font-size:.82em;padding:3px;' +
    'border:2px solid transparent;border-radius:3px}' +
    '#hs-heads .hs-head canvas{outline:1px solid #ddd}#hs-heads .hs-head.selected{border-color:#8a7fd0}' +
    '#hs-tokens{display:flex;flex-wrap:wrap;gap:2px;max-height:300px;overflow:auto;' +
    'font-family:"DejaVu Sans Mono",monospace;font-size:.82em;line-height:1.25}' +
    '#hs-tokens span{padding:1px 3px;border:1px solid #e4e4ea;border-radius:3px;cursor:pointer;white-space:pre}' +
    '#hs-tokens span.q{outline:2px solid #d0342c}' +
    '#hs-scroll{overflow:auto;border:1px solid #ddd;max-width:100%}' +
    '#hs-scroll canvas{position:sticky;left:0;top:0}' +
    '#hs-tip{position:fixed;display:none;pointer-events:none;z-index:10;background:#fff;border:1px solid #999;' +
    'padding:2px 6px;font:12px "DejaVu Sans Mono",monospace;max-width:560px;white-space:pre-wrap;' +
    'box-shadow:0 1px 4px rgba(0,0,0,.2)}';
  document.head.appendChild(css);

  var V = window.HS_VIEW || {runs: []};
  var runs = V.runs || [], entries = [];
  runs.forEach(function (run) {
    run.prompts.forEach(function (e) { entries.push({run: run, id: e[0], idx: e[1], T: e[2], label: e[3]}); });
  });
  if (entries.length === 0) {
    var leftOut = runs.some(function (r) { return r.left_out > 0; });
    readout.textContent = leftOut ?
      'This report was written with --viewer-prompts 0: the viewer holds no prompt (the store has the patterns).' :
      'No attention patterns are stored for the prompts of this store: record them with headscope run ' +
      '(its default --record includes pattern, as must a --record LIST).';
    root.querySelector('.hs-controls').style.display = 'none';
    root.setAttribute('data-ready', '1');
    return;
  }

  var lut = [], rgb = [], MASK = [240, 240, 243];
  for (var c = 0; c < 256; c++) {
    var hex = V.colors.substr(6 * c, 6);
    lut.push('#' + hex);
    rgb.push([parseInt(hex.substr(0, 2), 16), parseInt(hex.substr(2, 2), 16), parseInt(hex.substr(4, 2), 16)]);
  }
  var dpr = window.devicePixelRatio || 1;
  function sizeCanvas(cv, w, h) {
    cv.width = Math.round(w * dpr);
    cv.height = Math.round(h * dpr);
    cv.style.width = w + 'px';
    cv.style.height = h + 'px';
  }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }

  /* ------------------------------------------------------------ controls */
  var selPrompt = $('hs-prompt'), selLayer = $('hs-layer'), selHead = $('hs-head'), selZoom = $('hs-zoom');
  function option(parent, value, text) {
    var o = document.createElement('option');
    o.value = String(value);
    o.textContent = text;
    parent.appendChild(o);
    return o;
  }
  runs.forEach(function (run) {
    var g = document.createElement('optgroup');
    g.label = run.label;
    entries.forEach(function (e, i) {
      if (e.run === run) option(g, i, e.label + ' (' + plural(e.T, 'token') + ')');
    });
    if (run.left_out)
      option(g, '', '\u2026 ' + plural(run.left_out, 'more prompt') + ' not in this report (--viewer-prompts ' +
             V.limit + '); the store has them').disabled = true;
    if (run.incomplete)
      option(g, '', plural(run.incomplete, 'prompt') + ' whose stored patterns are not a full layer \u00d7 head ' +
             'grid: not shown').disabled = true;
    if (g.children.length) selPrompt.appendChild(g);
  });
  [['auto', 'auto (labels legible)'], ['fit', 'fit the width'], ['4', '4 px'], ['6', '6 px'], ['9', '9 px'],
   ['12', '12 px'], ['16', '16 px'], ['22', '22 px']].forEach(function (z) { option(selZoom, z[0], z[1]); });

  /* ------------------------------------------------------------ data, one file per prompt */
  /* cache: decoded prompts by id, at most CACHED (order: oldest first); waiting: the callbacks of
   * prompts whose file is being read, so that one picked again meanwhile is read once */
  var cache = {}, order = [], arrived = {}, waiting = {}, CACHED = 6;
  V.add = function (id, p) { arrived[id] = p; };
  function decode(p) {
    var s = atob(p.data), b = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    p.start = [];
    p.rowOf = [];
    for (var q = 0; q < p.T; q++) p.rowOf.push(-1);
    var block = 0;
    for (var r = 0; r < p.rows.length; r++) {
      p.start.push(block);
      p.rowOf[p.rows[r]] = r;
      block += p.rows[r] + 1;
    }
    var want = block * p.layers.length * p.heads.length;
    if (b.length !== want) throw new Error('pattern data has ' + b.length + ' bytes, expected ' + want);
    p.block = block;
    p.bytes = b;
    delete p.data;
  }
  function load(entry, then) {
    var id = entry.id;
    if (cache[id]) { then(cache[id]); return; }
    if (waiting[id]) { waiting[id].push(then); return; }
    waiting[id] = [then];
    var s = document.createElement('script');
    s.src = 'viewer/p' + id + '.js';
    s.onload = function () {
      var p = arrived[id], calls = waiting[id];
      delete arrived[id];
      delete waiting[id];
      if (!p) { fail(s.src + ' holds no data for prompt ' + id); return; }
      try { decode(p); } catch (e) { fail(s.src + ': ' + e.message); return; }
      p.script = s;
      cache[id] = p;
      order.push(id);
      while (order.length > CACHED) {
        var old = order.shift();
        cache[old].script.parentNode.removeChild(cache[old].script);
        delete cache[old];
      }
      calls.forEach(function (f) { f(p); });
    };
    s.onerror = function () {
      delete waiting[id];
      fail('cannot read ' + s.src + ': is the report folder complete?');
    };
    document.head.appendChild(s);
  }

  /* ------------------------------------------------------------ the view */
  var view = {entry: -1, p: null, query: 0}, loading = 0;
  function li() { return Math.max(0, view.p.layers.indexOf(+selLayer.value)); }
  function hi() { return Math.max(0, view.p.heads.indexOf(+selHead.value)); }
  function headName(l, h) { return 'L' + view.p.layers[l] + 'H' + view.p.heads[h]; }
  /* the stored code (0..255) of A[rows[r], k], k <= rows[r] */
  function at(p, l, h, r, k) { return p.bytes[(l * p.heads.length + h) * p.block + p.start[r] + k]; }
  function tok(q) { return JSON.stringify(view.p.tokens[q]); }
  function cellText(l, h, r, k) {
    var q = view.p.rows[r];
    if (k > q) return headName(l, h) + ' \u00b7 query ' + q + ' cannot see key ' + k + ' (causal mask)';
    return headName(l, h) + ' \u00b7 query ' + q + ' ' + tok(q) + ' \u2192 key ' + k + ' ' + tok(k) + ': ' +
      (at(view.p, l, h, r, k) / 255).toFixed(3);
  }
  function showTip(ev, text) {
    tip.textContent = text;
    tip.style.display = 'block';
    var x = ev.clientX + 14;
    if (x + 380 > (window.innerWidth || 1200)) x = Math.max(0, ev.clientX - 394);
    tip.style.left = x + 'px';
    tip.style.top = (ev.clientY + 16) + 'px';
  }
  function hideTip() { tip.style.display = 'none'; }

  function pick(i, layer, head) {
    i = Math.max(0, Math.min(entries.length - 1, i));
    var entry = entries[i], ticket = ++loading;
    selPrompt.value = String(i);
    root.setAttribute('data-ready', '0');
    readout.className = '';
    readout.textContent = 'reading viewer/p' + entry.id + '.js \u2026';
    load(entry, function (p) {
      if (ticket !== loading) return; /* another prompt was picked meanwhile */
      var keepL = layer !== null ? layer : +selLayer.value, keepH = head !== null ? head : +selHead.value;
      view.entry = i;
      view.p = p;
      view.query = p.rows[p.rows.length - 1];
      selLayer.textContent = '';
      selHead.textContent = '';
      p.layers.forEach(function (l) { option(selLayer, l, 'L' + l); });
      p.heads.forEach(function (h) { option(selHead, h, 'H' + h); });
      if (p.layers.indexOf(keepL) >= 0) selLayer.value = String(keepL);
      if (p.heads.indexOf(keepH) >= 0) selHead.value = String(keepH);
      var strip = $('hs-tokens');
      strip.textContent = '';
      p.tokens.forEach(function (t, q) {
        var s = document.createElement('span');
        s.setAttribute('data-pos', String(q));
        s.textContent = t;
        strip.appendChild(s);
      });
      box.scrollLeft = 0;
      box.scrollTop = 0;
      redraw();
    });
  }

  function redraw() {
    if (!view.p) return;
    try {
      drawHeads();
      paintTokens(view.query);
      layoutPattern();
      drawPattern();
      var e = entries[view.entry];
      $('hs-link').setAttribute('href', '#attention-viewer?prompt=' + e.id + '&layer=' + view.p.layers[li()] +
                                '&head=' + view.p.heads[hi()]);
      root.setAttribute('data-ready', '1');
    } catch (err) {
      fail(String(err && err.message || err));
    }
  }

  /* ------------------------------------------------------------ legend */
  (function () {
    var lg = $('hs-legend');
    var name = document.createElement('span');
    name.textContent = 'attention weight';
    var bar = document.createElement('span');
    bar.className = 'hs-bar';
    var cv = document.createElement('canvas');
    sizeCanvas(cv, 256, 12);
    var g = cv.getContext('2d');
    for (var x = 0; x < cv.width; x++) {
      g.fillStyle = lut[Math.round(255 * x / (cv.width - 1))];
      g.fillRect(x, 0, 1, cv.height);
    }
    bar.appendChild(cv);
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      var t = document.createElement('span');
      t.className = 'hs-tick';
      t.textContent = String(v);
      t.style.left = (256 * v) + 'px';
      bar.appendChild(t);
    });
    var mask = document.createElement('span'), sw = document.createElement('span');
    sw.className = 'hs-swatch';
    mask.appendChild(sw);
    mask.appendChild(document.createTextNode('key after the query (causal mask)'));
    lg.appendChild(name);
    lg.appendChild(bar);
    lg.appendChild(mask);
  })();

  /* ------------------------------------------------------------ every head of the layer */
  /* A thumbnail of w x h px: each pixel the largest value of the cells it covers (one cell per pixel
   * or more when the prompt is short), so a sharp diagonal of a long prompt stays visible. */
  function paintThumb(cv, p, l, h, w, ht) {
    var T = p.T, n = p.rows.length, mw = Math.min(T, w), mh = Math.min(n, ht);
    var off = document.createElement('canvas');
    off.width = mw;
    off.height = mh;
    var octx = off.getContext('2d'), img = octx.createImageData(mw, mh), px = img.data, b = p.bytes;
    var base = (l * p.heads.length + h) * p.block;
    for (var y = 0; y < mh; y++) {
      var r0 = Math.floor(y * n / mh), r1 = Math.max(r0 + 1, Math.floor((y + 1) * n / mh));
      for (var x = 0; x < mw; x++) {
        var k0 = Math.floor(x * T / mw), k1 = Math.max(k0 + 1, Math.floor((x + 1) * T / mw)), best = -1;
        for (var r = r0; r < r1; r++) {
          var o = base + p.start[r], kk = Math.min(k1, p.rows[r] + 1);
          for (var k = k0; k < kk; k++) if (b[o + k] > best) best = b[o + k];
        }
        var col = best < 0 ? MASK : rgb[best], i = 4 * (y * mw + x);
        px[i] = col[0];
        px[i + 1] = col[1];
        px[i + 2] = col[2];
        px[i + 3] = 255;
      }
    }
    octx.putImageData(img, 0, 0);
    var g = cv.getContext('2d');
    g.imageSmoothingEnabled = false;
    g.drawImage(off, 0, 0, cv.width, cv.height);
  }
  function drawHeads() {
    var p = view.p, l = li(), grid = $('hs-heads'), H = p.heads.length, T = p.T, n = p.rows.length;
    var avail = Math.max(240, root.clientWidth || 960), per = Math.min(H, 8);
    /* per item: 8 px of gap, 3 px of padding and 2 px of border on each side */
    var w = Math.max(64, Math.min(160, Math.floor((avail - 8 * (per - 1)) / per) - 10));
    var ht = Math.max(Math.min(w, 6 * n), Math.round(w * Math.min(1, n / T))); /* a few recorded rows stay visible */
    grid.textContent = '';
    p.heads.forEach(function (head, h) {
      var item = document.createElement('div'), cv = document.createElement('canvas');
      var cap = document.createElement('div');
      item.className = 'hs-head' + (h === hi() ? ' selected' : '');
      cv.setAttribute('data-head', String(head));
      sizeCanvas(cv, w, ht);
      paintThumb(cv, p, l, h, w, ht);
      cap.textContent = headName(l, h);
      item.appendChild(cv);
      item.appendChild(cap);
      item.addEventListener('click', function () { selHead.value = String(head); redraw(); });
      cv.addEventListener('mousemove', function (ev) {
        var rect = cv.getBoundingClientRect();
        var k = Math.floor((ev.clientX - rect.left) * T / w), r = Math.floor((ev.clientY - rect.top) * n / ht);
        showTip(ev, cellText(l, h, Math.max(0, Math.min(n - 1, r)), Math.max(0, Math.min(T - 1, k))));
      });
      cv.addEventListener('mouseleave', hideTip);
      grid.appendChild(item);
    });
    $('hs-heads-title').textContent = 'Every head of layer ' + p.layers[l] +
      ' (click one to pick it; hover for values)';
  }

  /* ------------------------------------------------------------ the tokens */
  function paintTokens(q) {
    var p = view.p, l = li(), h = hi(), r = p.rowOf[q], spans = $('hs-tokens').children;
    for (var k = 0; k < spans.length; k++) {
      var s = spans[k];
      s.className = k === q ? 'q' : '';
      if (r < 0 || k > q) {
        s.style.background = '';
        s.style.color = '';
        s.title = r < 0 ? 'query ' + q + ' is not recorded (--positions)' :
          'key ' + k + ' comes after query ' + q + ' (causal mask)';
        continue;
      }
      var code = at(p, l, h, r, k), col = rgb[code];
      s.style.background = lut[code];
      s.style.color = 0.2126 * col[0] + 0.7152 * col[1] + 0.0722 * col[2] < 140 ? '#fff' : '#111';
      s.title = 'key ' + k + ' ' + tok(k) + ' \u2190 query ' + q + ' ' + tok(q) + ': ' + (code / 255).toFixed(3);
    }
    $('hs-tokens-title').textContent = 'The ' + plural(p.T, 'token') + ', coloured by what query ' + q + ' ' +
      tok(q) + ' attends to in ' + headName(l, h) + ' (hover a token to see its row, click to pin it and ' +
      'bring it into view below)';
  }
  var strip = $('hs-tokens');
  function posOf(ev) {
    var t = ev.target, pos = t && t.getAttribute ? t.getAttribute('data-pos') : null;
    return pos === null ? -1 : +pos;
  }
  strip.addEventListener('mouseover', function (ev) { var q = posOf(ev); if (q >= 0 && view.p) paintTokens(q); });
  strip.addEventListener('mouseleave', function () { if (view.p) paintTokens(view.query); });
  strip.addEventListener('click', function (ev) {
    var q = posOf(ev);
    if (q < 0 || !view.p) return;
    view.query = q;
    paintTokens(q);
    var r = view.p.rowOf[q];
    if (r >= 0 && geom) {
      box.scrollTop = Math.max(0, geom.top + r * geom.cell - (box.clientHeight + geom.top) / 2);
      box.scrollLeft = Math.max(0, (q + 1) * geom.cell - 0.8 * (box.clientWidth - geom.left));
    }
    drawPattern();
  });

  /* ------------------------------------------------------------ the pattern of the picked head */
  /* The canvas is the size of the box and sticks to its top left; the spacer gives the box the
   * pattern's full size to scroll over, and each frame draws the part in view, with its labels. */
  var box = $('hs-scroll'), canvas = $('hs-canvas'), spacer = $('hs-spacer'), ctx = canvas.getContext('2d');
  var FONT = '11px "DejaVu Sans", sans-serif', geom = null;
  function layoutPattern() {
    var p = view.p, T = p.T, n = p.rows.length, l = li(), h = hi();
    ctx.font = FONT;
    var labelW = 0;
    p.tokens.forEach(function (t) { labelW = Math.max(labelW, ctx.measureText(t).width); });
    labelW = Math.min(Math.ceil(labelW) + 10, 160);
    var avail = Math.max(240, (root.clientWidth || 960) - 2), fit = Math.floor((avail - labelW - 12) / Math.max(T, 1));
    var z = selZoom.value || 'auto', cell;
    if (z === 'auto') cell = Math.max(12, Math.min(22, fit));
    else if (z === 'fit') cell = Math.max(1, Math.min(22, fit));
    else cell = +z;
    var every = cell >= 9 ? 1 : Math.ceil(11 / cell);
    var fullW = labelW + T * cell + 8, fullH = labelW + n * cell + 8;
    var maxH = Math.max(320, Math.min(820, (window.innerHeight || 900) - 60));
    /* the head's colours, one pixel per cell, scaled up when drawn */
    var src = document.createElement('canvas');
    src.width = T;
    src.height = n;
    var sctx = src.getContext('2d'), img = sctx.createImageData(T, n), px = img.data, b = p.bytes;
    for (var r = 0; r < n; r++) {
      var o = (l * p.heads.length + h) * p.block + p.start[r], q = p.rows[r];
      for (var k = 0; k < T; k++) {
        var col = k <= q ? rgb[b[o + k]] : MASK, i = 4 * (r * T + k);
        px[i] = col[0];
        px[i + 1] = col[1];
        px[i + 2] = col[2];
        px[i + 3] = 255;
      }
    }
    sctx.putImageData(img, 0, 0);
    spacer.style.width = fullW + 'px';
    spacer.style.height = fullH + 'px';
    canvas.style.width = '0px';
    canvas.style.height = '0px';
    box.style.width = Math.min(avail, fullW + 2) + 'px';
    box.style.height = Math.min(maxH, fullH + 2 + (fullW + 2 > avail ? 18 : 0)) + 'px';
    var cw = Math.min(box.clientWidth, fullW), ch = Math.min(box.clientHeight, fullH);
    sizeCanvas(canvas, cw, ch);
    spacer.style.height = Math.max(0, fullH - ch) + 'px';
    geom = {cell: cell, left: labelW, top: labelW, every: every, w: cw, ht: ch, src: src, layer: l, head: h};
    canvas.setAttribute('data-cell', String(cell));
    canvas.setAttribute('data-left', String(labelW));
    canvas.setAttribute('data-top', String(labelW));
    $('hs-pattern-title').textContent = 'The pattern of ' + headName(l, h) + ': queries down, keys across ' +
      '(hover a cell for its value, click to pin its query; scroll in the box, or zoom)';
  }
  function drawPattern() {
    var g = geom, p = view.p;
    if (!g || !p) return;
    var T = p.T, n = p.rows.length, sx = box.scrollLeft, sy = box.scrollTop, c = g.cell;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, g.w, g.ht);
    /* cells touching the view, and those whose centre is in it (labelled, and named in the readout) */
    var k0 = Math.floor(sx / c), k1 = Math.min(T, Math.ceil((sx + g.w - g.left) / c));
    var r0 = Math.floor(sy / c), r1 = Math.min(n, Math.ceil((sy + g.ht - g.top) / c));
    var kc0 = Math.max(0, Math.ceil(sx / c - 0.5)), kc1 = Math.min(T, Math.floor((sx + g.w - g.left) / c - 0.5) + 1);
    var rc0 = Math.max(0, Math.ceil(sy / c - 0.5)), rc1 = Math.min(n, Math.floor((sy + g.ht - g.top) / c - 0.5) + 1);
    ctx.save();
    ctx.beginPath();
    ctx.rect(g.left, g.top, g.w - g.left, g.ht - g.top);
    ctx.clip();
    ctx.imageSmoothingEnabled = false;
    if (k1 > k0 && r1 > r0)
      ctx.drawImage(g.src, k0, r0, k1 - k0, r1 - r0, g.left + k0 * c - sx, g.top + r0 * c - sy, (k1 - k0) * c,
                    (r1 - r0) * c);
    var pr = p.rowOf[view.query];
    if (pr >= 0) {
      ctx.strokeStyle = '#d0342c';
      ctx.lineWidth = 1.5;
      ctx.strokeRect(g.left - sx + 0.75, g.top + pr * c - sy + 0.75, (view.query + 1) * c - 1.5, c - 1.5);
    }
    ctx.restore();

    ctx.font = FONT;
    ctx.fillStyle = '#222222';
    ctx.textBaseline = 'middle';
    var rows = [], keys = [];
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, g.top, g.left, g.ht - g.top);
    ctx.clip();
    ctx.textAlign = 'right';
    for (var r = rc0; r < rc1; r++) {
      if (r % g.every) continue;
      ctx.fillText(p.tokens[p.rows[r]], g.left - 4, g.top + (r + 0.5) * c - sy, g.left - 6);
      rows.push(p.rows[r]);
    }
    ctx.restore();
    ctx.save();
    ctx.beginPath();
    ctx.rect(g.left, 0, g.w - g.left, g.top);
    ctx.clip();
    for (var k = kc0; k < kc1; k++) {
      if (k % g.every) continue;
      ctx.save();
      ctx.translate(g.left + (k + 0.5) * c - sx, g.top - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(p.tokens[k], 0, 0, g.top - 6);
      ctx.restore();
      keys.push(k);
    }
    ctx.restore();
    if (g.left >= 70) {
      ctx.fillStyle = '#777777';
      ctx.textAlign = 'left';
      ctx.fillText('query \u2193  key \u2192', 4, 10);
    }
    canvas.setAttribute('data-labelled-rows', rows.length ? rows[0] + '-' + rows[rows.length - 1] : '');
    canvas.setAttribute('data-labelled-keys', keys.length ? keys[0] + '-' + keys[keys.length - 1] : '');

    var e = entries[view.entry];
    var say = e.run.label + ' \u00b7 ' + e.label + ' \u00b7 ' + headName(g.layer, g.head) + ' \u00b7 ';
    if (rc0 === 0 && rc1 === n && kc0 === 0 && kc1 === T)
      say += n === T ? 'all ' + plural(T, 'position') + ' in view' : 'all ' + n + ' recorded queries in view';
    else if (rc1 > rc0 && kc1 > kc0)
      say += (n === T ? 'queries ' : (rc1 - rc0) + ' of the ' + n + ' recorded queries, ') + p.rows[rc0] + '\u2013' +
        p.rows[rc1 - 1] + ', and keys ' + kc0 + '\u2013' + (kc1 - 1) + ' of ' + T +
        ' positions in view (scroll the box or zoom out for the rest)';
    if (g.every > 1) say += ' \u00b7 at this zoom every ' + g.every + ' positions carry a label';
    readout.className = '';
    readout.textContent = say + ' \u00b7 queries down, keys across; hover a cell';
  }
  var frame = 0;
  box.addEventListener('scroll', function () {
    if (frame) return;
    frame = window.requestAnimationFrame(function () { frame = 0; drawPattern(); });
  });
  function cellAt(ev) {
    var g = geom, rect = canvas.getBoundingClientRect();
    var x = ev.clientX - rect.left, y = ev.clientY - rect.top;
    if (!g || x < g.left || y < g.top) return null;
    var k = Math.floor((x - g.left + box.scrollLeft) / g.cell), r = Math.floor((y - g.top + box.scrollTop) / g.cell);
    return r < view.p.rows.length && k < view.p.T ? {r: r, k: k} : null;
  }
  canvas.addEventListener('mousemove', function (ev) {
    var at_ = cellAt(ev);
    if (at_) showTip(ev, cellText(geom.layer, geom.head, at_.r, at_.k)); else hideTip();
  });
  canvas.addEventListener('mouseleave', hideTip);
  canvas.addEventListener('click', function (ev) {
    var at_ = cellAt(ev);
    if (!at_) return;
    view.query = view.p.rows[at_.r];
    paintTokens(view.query);
    drawPattern();
  });

  /* ------------------------------------------------------------ wiring, and links to a view */
  selPrompt.addEventListener('change', function () { pick(+selPrompt.value, null, null); });
  $('hs-prev').addEventListener('click', function () { pick(view.entry - 1, null, null); });
  $('hs-next').addEventListener('click', function () { pick(view.entry + 1, null, null); });
  selLayer.addEventListener('change', redraw);
  selHead.addEventListener('change', redraw);
  selZoom.addEventListener('change', function () {
    var g = geom, k = g ? box.scrollLeft / g.cell : 0, r = g ? box.scrollTop / g.cell : 0;
    redraw();
    box.scrollLeft = k * geom.cell;
    box.scrollTop = r * geom.cell;
    drawPattern();
  });
  window.addEventListener('resize', redraw);
  function fromHash() {
    var m = /^#attention-viewer\?(.*)$/.exec(window.location.hash || ''), o = {};
    if (!m) return false;
    m[1].split('&').forEach(function (kv) {
      var eq = kv.indexOf('=');
      if (eq > 0) o[kv.slice(0, eq)] = decodeURIComponent(kv.slice(eq + 1));
    });
    for (var i = 0; i < entries.length; i++)
      if (String(entries[i].id) === o.prompt) {
        pick(i, o.layer !== undefined ? +o.layer : null, o.head !== undefined ? +o.head : null);
        $('attention-viewer').scrollIntoView();
        return true;
      }
    return false;
  }
  window.addEventListener('hashchange', fromHash);
  if (!fromHash()) pick(0, null, null);
})();
