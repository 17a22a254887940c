/* scenedet review: the page. Plain script, no build step, no library, nothing from another site.
 *
 * State: the film list (overview), the open film (its results, cuts, annotations and their
 * version), the annotations being edited (`ann`, sorted, never overlapping), undo/redo stacks,
 * the view window of the timeline. Every edit goes through commit(): it records undo, redraws
 * and schedules the autosave. A save sends the version the page holds; a 409 answer (another
 * tab or program saved first) stops autosaving and says so.
 */
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('config').textContent);
  var $ = function (id) { return document.getElementById(id); };
  var video = $('player');
  var S = {
    overview: null, film: null, ann: [], version: 0, undo: [], redo: [], sel: null,
    markIn: null, markOut: null, v0: 0, v1: 1, vt: 0, timer: null, shuttle: 0,
    saveTimer: null, dirty: false, stale: false, saving: false, stretch: -1, drag: null
  };
  var EPS = 1e-3;

  // -- server -------------------------------------------------------------------------------------
  function api(path, options) {
    options = options || {};
    var headers = {'X-Scenedet-Token': config.token};
    if (options.method && options.method !== 'GET') {
      headers['X-Scenedet-Write'] = config.write;
      headers['Content-Type'] = 'application/json';
    }
    return fetch(path, {method: options.method || 'GET', headers: headers, body: options.body,
                        credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) {
        return r.json().catch(function () { return {error: r.statusText}; })
          .then(function (data) { return {status: r.status, data: data}; });
      });
  }
  function withToken(path) { return path + '?token=' + encodeURIComponent(config.token); }

  // -- messages -----------------------------------------------------------------------------------
  function status(text, kind) {
    var el = $('status');
    el.textContent = text;
    el.className = kind || '';
  }
  function message(text) {
    var el = $('message');
    el.textContent = text || '';
    el.hidden = !text;
  }

  // -- time -----------------------------------------------------------------------------------------
  function duration() { return S.film ? S.film.duration : 1; }
  function frame() { return S.film && S.film.fps > 0 ? 1 / S.film.fps : 0.04; }
  function now() { return S.film && S.film.playable ? video.currentTime : S.vt; }
  function clamp(t) { return Math.max(0, Math.min(duration(), t)); }
  function seek(t) {
    t = clamp(t);
    if (S.film.playable) { video.currentTime = t; } else { S.vt = t; }
    tick();
  }
  function stopShuttle() {
    if (S.timer) { clearInterval(S.timer); S.timer = null; }
    S.shuttle = 0;
    if (S.film && S.film.playable) { video.pause(); video.playbackRate = 1; }
    $('rate').textContent = '';
  }
  function shuttle(direction) {
    // J/L: start, or go faster in the same direction (1x, 2x, 4x, 8x); the other way restarts
    var speed = (S.shuttle && (S.shuttle > 0) === (direction > 0)) ?
      Math.min(8, Math.abs(S.shuttle) * 2) : 1;
    stopShuttle();
    S.shuttle = direction * speed;
    $('rate').textContent = (direction > 0 ? '▶ ' : '◀ ') + speed + '×';
    if (direction > 0 && S.film.playable) {
      video.playbackRate = speed;
      var p = video.play();
      if (p && p.catch) { p.catch(function () {}); }
      return;
    }
    var last = performance.now();
    S.timer = setInterval(function () {
      var t = performance.now(), dt = (t - last) / 1000;
      last = t;
      var next = now() + S.shuttle * dt;
      if (next <= 0 || next >= duration()) { stopShuttle(); }
      seek(next);
    }, 100);
  }
  function togglePlay() {
    if (S.shuttle || (S.film.playable && !video.paused)) { stopShuttle(); } else { shuttle(1); }
  }
  function clock(t) {
    var m = Math.floor(t / 60), s = t - 60 * m;
    return m + ':' + (s < 10 ? '0' : '') + s.toFixed(3);
  }

  // -- annotations: pure edits ----------------------------------------------------------------------
  function copyAnn(list) { return list.map(function (a) { return {start: a.start, end: a.end, label: a.label}; }); }
  function sortAnn(list) { return list.sort(function (a, b) { return a.start - b.start || a.end - b.end; }); }
  function place(list, start, end, label) {
    // [start, end) becomes one annotation; what it overlaps is cut back around it
    var out = [];
    list.forEach(function (a) {
      if (a.end <= start + EPS || a.start >= end - EPS) { out.push(a); return; }
      if (a.start < start - EPS) { out.push({start: a.start, end: start, label: a.label}); }
      if (a.end > end + EPS) { out.push({start: end, end: a.end, label: a.label}); }
    });
    out.push({start: start, end: end, label: label});
    return sortAnn(out);
  }
  function commit(next, selectIndex) {
    S.undo.push(copyAnn(S.ann));
    S.redo = [];
    S.ann = sortAnn(next);
    S.sel = selectIndex === undefined ? null : {kind: 'ann', index: selectIndex};
    changed();
  }
  function changed() {
    S.dirty = true;
    status('Edited: saving…', 'dirty');
    scheduleSave();
    render();
  }
  function undo() {
    if (!S.undo.length) { return; }
    S.redo.push(copyAnn(S.ann));
    S.ann = S.undo.pop();
    S.sel = null;
    changed();
  }
  function redo() {
    if (!S.redo.length) { return; }
    S.undo.push(copyAnn(S.ann));
    S.ann = S.redo.pop();
    S.sel = null;
    changed();
  }
  function indexOf(list, start) {
    for (var i = 0; i < list.length; i++) { if (Math.abs(list[i].start - start) < EPS) { return i; } }
    return null;
  }

  // -- saving -------------------------------------------------------------------------------------
  function scheduleSave() {
    if (S.saveTimer) { clearTimeout(S.saveTimer); }
    S.saveTimer = setTimeout(save, (S.overview.autosave || 1) * 1000);
  }
  function save() {
    if (S.saveTimer) { clearTimeout(S.saveTimer); S.saveTimer = null; }
    if (!S.film || !S.dirty || S.stale) { return Promise.resolve(!S.stale); }
    if (S.saving) { scheduleSave(); return Promise.resolve(false); }
    S.saving = true;
    var sent = copyAnn(S.ann), film = S.film;
    return api('/api/film/' + film.id + '/annotations', {
      method: 'PUT', body: JSON.stringify({version: S.version, segments: sent})
    }).then(function (r) {
      S.saving = false;
      if (S.film !== film) { return true; }
      if (r.status === 200) {
        S.version = r.data.version;
        S.dirty = JSON.stringify(sent) !== JSON.stringify(S.ann);
        status(S.dirty ? 'Edited: saving…' : 'Saved', S.dirty ? 'dirty' : '');
        if (S.dirty) { scheduleSave(); }
        setReviewed(film.id, r.data.reviewed);
        return true;
      }
      if (r.status === 409) {
        S.stale = true;
        status('Not saved: changed elsewhere', 'error');
        message('Not saved: ' + r.data.error + '.');
        return false;
      }
      status('Not saved', 'error');
      message('Not saved: ' + (r.data.error || r.status));
      return false;
    }, function () {
      S.saving = false;
      status('Not saved: the review server does not answer (edits kept in this page)', 'error');
      return false;
    });
  }

  // -- loading ------------------------------------------------------------------------------------
  function openFilm(id, then) {
    var go = function () {
      api('/api/film/' + id).then(function (r) {
        if (r.status !== 200) { message(r.data.error); return; }
        stopShuttle();
        var f = r.data;
        S.film = f; S.ann = sortAnn(copyAnn(f.annotations.segments)); S.version = f.annotations.version;
        S.undo = []; S.redo = []; S.sel = null; S.markIn = S.markOut = null; S.dirty = false;
        S.stale = false; S.v0 = 0; S.v1 = f.duration; S.vt = 0;
        message('');
        status('Opened');
        $('film-name').textContent = f.key;
        video.hidden = !f.playable;
        $('unplayable').hidden = f.playable;
        $('strip').hidden = f.playable;
        if (f.playable) {
          video.src = withToken('/media/' + f.id);
        } else {
          video.removeAttribute('src');
          video.load();
          $('unplayable-reason').textContent = f.reason;
        }
        renderList();
        render();
        if (then) { then(); }
      });
    };
    save().then(go);
  }
  function setReviewed(id, value) {
    S.overview.films.forEach(function (f) { if (f.id === id) { f.reviewed = value; } });
    renderList();
  }
  function filmIndex() {
    var films = S.overview.films;
    for (var i = 0; i < films.length; i++) { if (S.film && films[i].id === S.film.id) { return i; } }
    return -1;
  }
  function step(direction) {
    var sug = S.overview.suggested;
    if (sug.length) {
      var k = Math.max(0, Math.min(sug.length - 1, S.stretch + direction));
      goStretch(k);
      return;
    }
    var films = S.overview.films, i = filmIndex() + direction;
    if (i >= 0 && i < films.length) { openFilm(films[i].id); }
  }
  function goStretch(k) {
    var s = S.overview.suggested[k];
    S.stretch = k;
    var show = function () {
      var pad = Math.max(2, (s.end - s.start) * 0.25);
      S.v0 = Math.max(0, s.start - pad); S.v1 = Math.min(duration(), s.end + pad);
      seek(s.start);
      renderList();
    };
    if (S.film && S.film.id === s.film) { show(); } else { openFilm(s.film, show); }
  }

  // -- drawing ------------------------------------------------------------------------------------
  function xOf(t) { return (t - S.v0) / (S.v1 - S.v0) * 100; }
  function tOf(clientX) {
    var box = $('timeline').getBoundingClientRect();
    return clamp(S.v0 + (clientX - box.left) / box.width * (S.v1 - S.v0));
  }
  function bar(cls, start, end, data) {
    var el = document.createElement('div');
    el.className = 'seg ' + cls;
    var a = Math.max(xOf(start), -1), b = Math.min(xOf(end), 101);
    el.style.left = a + '%';
    el.style.width = Math.max(0, b - a) + '%';
    el.dataset.start = start;
    el.dataset.end = end;
    Object.keys(data || {}).forEach(function (k) { el.dataset[k] = data[k]; });
    return el;
  }
  function lane(name, cls) {
    var el = document.createElement('div');
    el.className = 'lane ' + (cls || '');
    var label = document.createElement('span');
    label.className = 'name';
    label.textContent = name;
    el.appendChild(label);
    return el;
  }
  function visible(s) { return s.end >= S.v0 && s.start <= S.v1; }
  function detectedLanes() {
    // one lane per result, or per label of a result whose segments carry labels (cues)
    var lanes = [];
    (S.film.results || []).forEach(function (res, r) {
      var labels = [];
      res.segments.forEach(function (s) { if (s.label && labels.indexOf(s.label) < 0) { labels.push(s.label); } });
      if (!labels.length) { labels = [null]; }
      labels.forEach(function (label) {
        lanes.push({name: res.name + (label ? ': ' + label : ''), result: r,
                    segments: res.segments.map(function (s, i) { return {s: s, i: i}; })
                      .filter(function (x) { return label === null || x.s.label === label; })});
      });
    });
    return lanes;
  }
  function renderLanes() {
    var box = $('lanes');
    box.textContent = '';
    detectedLanes().forEach(function (ln) {
      var el = lane(ln.name, 'detected');
      el.dataset.result = ln.result;
      el.firstChild.style.color = COLOURS[ln.result % COLOURS.length];  // as its score curve
      ln.segments.forEach(function (x) {
        if (!visible(x.s)) { return; }
        var b = bar('detected', x.s.start, x.s.end, {result: ln.result, index: x.i});
        if (S.sel && S.sel.kind === 'det' && S.sel.result === ln.result && S.sel.index === x.i) {
          b.classList.add('selected');
        }
        b.title = ln.name + ' ' + clock(x.s.start) + '–' + clock(x.s.end) +
          (x.s.score != null ? ' (' + Number(x.s.score).toFixed(2) + ')' : '');
        el.appendChild(b);
      });
      box.appendChild(el);
    });
    var sug = S.overview.suggested.filter(function (s) { return s.film === S.film.id; });
    if (sug.length) {
      var sl = lane('suggested', 'suggested');
      sug.forEach(function (s) { if (visible(s)) { sl.appendChild(bar('suggested', s.start, s.end)); } });
      box.appendChild(sl);
    }
    var an = lane('annotations', 'annotations');
    S.ann.forEach(function (a, i) {
      if (!visible(a)) { return; }
      var b = bar('ann ' + (a.label ? 'pos' : 'neg'), a.start, a.end, {index: i, label: a.label});
      if (S.sel && S.sel.kind === 'ann' && S.sel.index === i) { b.classList.add('selected'); }
      ['left', 'right'].forEach(function (side) {
        var h = document.createElement('div');
        h.className = 'handle ' + side;
        h.dataset.side = side;
        b.appendChild(h);
      });
      an.appendChild(b);
    });
    if (S.markIn !== null) {
      var t = now(), p = bar('pending', Math.min(S.markIn, t), Math.max(S.markIn, t) + EPS);
      an.appendChild(p);
    }
    box.appendChild(an);
  }
  function renderCuts() {
    var box = $('cuts');
    box.textContent = '';
    S.film.cuts.forEach(function (t) {
      if (t < S.v0 || t > S.v1) { return; }
      var c = document.createElement('div');
      c.className = 'cut';
      c.style.left = xOf(t) + '%';
      c.dataset.time = t;
      box.appendChild(c);
    });
  }
  var COLOURS = ['#264653', '#e76f51', '#2a9d8f', '#8338ec', '#e9c46a', '#3a86ff'];
  function renderScores() {
    var canvas = $('scores'), w = canvas.clientWidth || 600, h = canvas.height;
    canvas.width = w;
    var g = canvas.getContext('2d');
    g.clearRect(0, 0, w, h);
    g.strokeStyle = '#ddd';
    g.beginPath(); g.moveTo(0, h / 2); g.lineTo(w, h / 2); g.stroke();
    (S.film.results || []).forEach(function (res, r) {
      if (!res.scores) { return; }
      g.strokeStyle = COLOURS[r % COLOURS.length];
      g.lineWidth = 1.5;
      g.beginPath();
      // only the visible part: a frame-level detector scores every frame of a long film
      var first = true, step = res.step || 1;
      var lo = Math.max(0, Math.floor(S.v0 / step) - 1), hi = Math.min(res.scores.length, Math.ceil(S.v1 / step) + 1);
      for (var i = lo; i < hi; i++) {
        var v = res.scores[i];
        if (v === null) { first = true; continue; }
        var x = xOf((i + 0.5) * step) / 100 * w, y = h - 4 - v * (h - 8);
        if (first) { g.moveTo(x, y); first = false; } else { g.lineTo(x, y); }
      }
      g.stroke();
    });
  }
  function renderAxis() {
    var box = $('axis'), span = S.v1 - S.v0, steps = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 600, 1800, 3600];
    var stepSize = steps.filter(function (s) { return span / s <= 12; })[0] || 3600;
    box.textContent = '';
    for (var t = Math.ceil(S.v0 / stepSize) * stepSize; t <= S.v1; t += stepSize) {
      var el = document.createElement('span');
      el.style.left = xOf(t) + '%';
      el.textContent = clock(t).replace(/\.000$/, '');
      box.appendChild(el);
    }
    $('timeline').dataset.v0 = S.v0;
    $('timeline').dataset.v1 = S.v1;
  }
  function renderTable() {
    var body = document.querySelector('#segments tbody');
    body.textContent = '';
    S.ann.forEach(function (a, i) {
      var tr = document.createElement('tr');
      tr.className = 'annotation' + (S.sel && S.sel.kind === 'ann' && S.sel.index === i ? ' selected' : '');
      [String(i + 1), clock(a.start), clock(a.end), (a.end - a.start).toFixed(2) + ' s'].forEach(function (text) {
        var td = document.createElement('td'); td.textContent = text; tr.appendChild(td);
      });
      var td = document.createElement('td'), select = document.createElement('select');
      [['1', 'scene'], ['0', 'not a scene']].forEach(function (o) {
        var opt = document.createElement('option'); opt.value = o[0]; opt.textContent = o[1];
        select.appendChild(opt);
      });
      select.value = String(a.label);
      select.className = 'label';
      select.addEventListener('change', function () {
        var next = copyAnn(S.ann); next[i].label = Number(select.value);
        select.blur();  // the keys are the page's again
        commit(next, i);
      });
      td.appendChild(select); tr.appendChild(td);
      var go = document.createElement('td'), btn = document.createElement('button');
      btn.textContent = 'go'; btn.addEventListener('click', function () { S.sel = {kind: 'ann', index: i}; seek(a.start); render(); });
      go.appendChild(btn); tr.appendChild(go);
      body.appendChild(tr);
    });
  }
  function renderList() {
    var list = $('film-list');
    list.textContent = '';
    S.overview.films.forEach(function (f) {
      var li = document.createElement('li');
      li.className = 'film' + (S.film && S.film.id === f.id ? ' current' : '');
      li.dataset.id = f.id;
      li.dataset.reviewed = f.reviewed;
      li.textContent = f.key + ' — ' + Math.round(f.reviewed * 100) + '% reviewed';
      var b = document.createElement('span'), i = document.createElement('i');
      b.className = 'bar'; i.style.width = (f.reviewed * 100) + '%'; b.appendChild(i); li.appendChild(b);
      li.addEventListener('click', function () { openFilm(f.id); });
      list.appendChild(li);
    });
    var sl = $('suggest-list');
    sl.textContent = '';
    S.overview.suggested.forEach(function (s, k) {
      var li = document.createElement('li');
      li.className = 'stretch' + (k === S.stretch ? ' current' : '');
      li.textContent = (k + 1) + '. ' + s.video + ' ' + clock(s.start) + '–' + clock(s.end);
      li.addEventListener('click', function () { goStretch(k); });
      sl.appendChild(li);
    });
  }
  function stillSeconds() {
    // the seconds with a still: a last part-second shorter than half a second has none
    return Math.max(1, Math.ceil(duration() - 0.5));
  }
  function renderStrip() {
    if (!S.film || S.film.playable) { return; }
    var seconds = stillSeconds(), sec = Math.min(Math.floor(now()), seconds - 1);
    var src = withToken('/still/' + S.film.id + '/' + sec);
    if ($('still').dataset.second !== String(sec)) { $('still').src = src; $('still').dataset.second = sec; }
    var strip = $('strip'), first = Math.floor(S.v0), last = Math.min(Math.ceil(S.v1), seconds) - 1;
    var every = Math.max(1, Math.ceil((last - first + 1) / 30)), key = first + ':' + last + ':' + every;
    if (strip.dataset.key !== key) {
      strip.dataset.key = key;
      strip.textContent = '';
      for (var s = first; s <= last; s += every) {
        var img = document.createElement('img');
        img.loading = 'lazy';
        img.src = withToken('/still/' + S.film.id + '/' + s);
        img.dataset.second = s;
        img.alt = clock(s);
        strip.appendChild(img);
      }
    }
    Array.prototype.forEach.call(strip.children, function (img) {
      img.classList.toggle('current', Number(img.dataset.second) === sec);
    });
  }
  function tick() {
    if (!S.film) { return; }
    var t = now();
    $('clock').textContent = clock(t);
    $('playhead').style.left = xOf(t) + '%';
    $('marks').textContent = S.markIn !== null ? 'in ' + clock(S.markIn) : '';
    if (S.markIn !== null) { renderLanes(); }
    renderStrip();
  }
  function render() {
    if (!S.film) { return; }
    renderAxis(); renderScores(); renderLanes(); renderCuts(); renderTable(); tick();
  }

  // -- editing commands ---------------------------------------------------------------------------
  function markIn() { S.markIn = now(); S.markOut = null; tick(); }
  function markOut() {
    var t = now();
    if (S.markIn === null) { message('Mark the start first (I), then the end (O).'); return; }
    var a = Math.min(S.markIn, t), b = Math.max(S.markIn, t);
    S.markIn = null;
    if (b - a < frame() / 2) { message('A scene needs its end after its start.'); tick(); return; }
    message('');
    var next = place(copyAnn(S.ann), a, b, 1);
    commit(next, indexOf(next, a));
  }
  function detectedAt(t) {
    var lanes = detectedLanes();
    for (var k = 0; k < lanes.length; k++) {
      for (var j = 0; j < lanes[k].segments.length; j++) {
        var x = lanes[k].segments[j];
        if (x.s.start <= t + EPS && t < x.s.end - EPS) { return {kind: 'det', result: lanes[k].result, index: x.i}; }
      }
    }
    return null;
  }
  function detected(sel) { return S.film.results[sel.result].segments[sel.index]; }
  function accept(label) {
    var sel = (S.sel && S.sel.kind === 'det') ? S.sel : detectedAt(now());
    if (!sel) { message('No detected scene here to ' + (label ? 'accept' : 'reject') + '.'); return; }
    message('');
    var s = detected(sel), next = place(copyAnn(S.ann), s.start, s.end, label);
    commit(next, indexOf(next, s.start));
  }
  function remove() {
    if (S.sel && S.sel.kind === 'ann') {
      var next = copyAnn(S.ann);
      next.splice(S.sel.index, 1);
      commit(next);
      return;
    }
    accept(0);
  }
  function toggleLabel() {
    if (!S.sel || S.sel.kind !== 'ann') { return; }
    var next = copyAnn(S.ann);
    next[S.sel.index].label = next[S.sel.index].label ? 0 : 1;
    commit(next, S.sel.index);
  }
  function markReviewed() {
    // saves the film as it is, scenes or none: the file then lists it as reviewed
    S.dirty = true;
    status('Saving…', 'dirty');
    save();
  }
  function boundaries() {
    var out = [0, duration()];
    S.ann.forEach(function (a) { out.push(a.start, a.end); });
    (S.film.results || []).forEach(function (r) { r.segments.forEach(function (s) { out.push(s.start, s.end); }); });
    S.film.cuts.forEach(function (t) { out.push(t); });
    return out.sort(function (a, b) { return a - b; });
  }
  function jump(direction) {
    var t = now(), list = boundaries(), target = null;
    if (direction > 0) { target = list.filter(function (b) { return b > t + EPS; })[0]; }
    else { target = list.filter(function (b) { return b < t - EPS; }).pop(); }
    if (target !== undefined && target !== null) { stopShuttle(); seek(target); }
  }
  function zoom(factor, centre) {
    var span = Math.min(duration(), Math.max(1, (S.v1 - S.v0) * factor));
    centre = centre === undefined ? now() : centre;
    var f = (centre - S.v0) / (S.v1 - S.v0);
    S.v0 = Math.max(0, centre - f * span);
    S.v1 = Math.min(duration(), S.v0 + span);
    S.v0 = Math.max(0, S.v1 - span);
    render();
  }

  // -- keys -----------------------------------------------------------------------------------------
  function onKey(e) {
    if (!S.film || e.target.tagName === 'INPUT' || e.target.tagName === 'SELECT') { return; }
    var k = e.key, ctrl = e.ctrlKey || e.metaKey;
    var handled = true;
    if (ctrl && (k === 'z' || k === 'Z')) { if (e.shiftKey) { redo(); } else { undo(); } }
    else if (ctrl && (k === 'y' || k === 'Y')) { redo(); }
    else if (ctrl && (k === 's' || k === 'S')) { save(); }
    else if (ctrl || e.altKey) { handled = false; }
    else if (k === ' ') { togglePlay(); }
    else if (k === 'j' || k === 'J') { shuttle(-1); }
    else if (k === 'k' || k === 'K') { stopShuttle(); }
    else if (k === 'l' || k === 'L') { shuttle(1); }
    else if (k === 'ArrowLeft' || k === 'ArrowRight') {
      stopShuttle();
      seek(now() + (k === 'ArrowLeft' ? -1 : 1) * (e.shiftKey ? 1 : frame()));
    }
    else if (k === 'i' || k === 'I') { markIn(); }
    else if (k === 'o' || k === 'O') { markOut(); }
    else if (k === '[') { jump(-1); }
    else if (k === ']') { jump(1); }
    else if (k === 'Enter') { accept(1); }
    else if (k === 'Delete' || k === 'Backspace') { remove(); }
    else if (k === 't' || k === 'T') { toggleLabel(); }
    else if (k === 'm' || k === 'M') { markReviewed(); }
    else if (k === '+' || k === '=') { zoom(0.5); }
    else if (k === '-') { zoom(2); }
    else if (k === '0') { S.v0 = 0; S.v1 = duration(); render(); }
    else if (k === 'PageDown') { step(1); }
    else if (k === 'PageUp') { step(-1); }
    else if (k === 'Escape') { S.markIn = null; S.sel = null; message(''); render(); }
    else { handled = false; }
    if (handled) { e.preventDefault(); }
  }

  // -- mouse ----------------------------------------------------------------------------------------
  function snap(t, clientX) {
    // to the nearest shot cut within 8 pixels
    var box = $('timeline').getBoundingClientRect(), best = t, bestPx = 8;
    S.film.cuts.forEach(function (c) {
      var px = Math.abs((c - t) / (S.v1 - S.v0) * box.width);
      if (px <= bestPx) { best = c; bestPx = px; }
    });
    return best;
  }
  function onDown(e) {
    if (!S.film || e.button !== 0) { return; }
    var target = e.target, seg = target.closest('.seg');
    if (target.classList.contains('handle')) {
      var i = Number(seg.dataset.index);
      S.drag = {index: i, side: target.dataset.side, before: copyAnn(S.ann)};
      S.sel = {kind: 'ann', index: i};
      e.preventDefault();
      return;
    }
    if (seg && seg.classList.contains('ann')) {
      S.sel = {kind: 'ann', index: Number(seg.dataset.index)};
      seek(Number(seg.dataset.start));
    } else if (seg && seg.classList.contains('detected')) {
      S.sel = {kind: 'det', result: Number(seg.dataset.result), index: Number(seg.dataset.index)};
      seek(Number(seg.dataset.start));
    } else {
      S.sel = null;
      seek(tOf(e.clientX));
    }
    render();
  }
  function onMove(e) {
    if (!S.drag) { return; }
    var d = S.drag, a = S.ann[d.index], t = snap(tOf(e.clientX), e.clientX), f = frame();
    var prev = d.index > 0 ? S.ann[d.index - 1].end : 0;
    var next = d.index < S.ann.length - 1 ? S.ann[d.index + 1].start : duration();
    if (d.side === 'left') { a.start = Math.max(prev, Math.min(t, a.end - f)); }
    else { a.end = Math.min(next, Math.max(t, a.start + f)); }
    d.moved = true;
    renderLanes(); renderTable();
  }
  function onUp() {
    if (!S.drag) { return; }
    var d = S.drag;
    S.drag = null;
    if (!d.moved) { render(); return; }
    var moved = copyAnn(S.ann);
    S.ann = d.before;
    commit(moved, d.index);
  }
  function onWheel(e) {
    if (!S.film) { return; }
    e.preventDefault();
    if (e.shiftKey) {
      var shift = (S.v1 - S.v0) * (e.deltaY > 0 ? 0.2 : -0.2), span = S.v1 - S.v0;
      S.v0 = Math.max(0, Math.min(duration() - span, S.v0 + shift)); S.v1 = S.v0 + span;
      render();
    } else {
      zoom(e.deltaY > 0 ? 1.25 : 0.8, tOf(e.clientX));
    }
  }

  // -- start --------------------------------------------------------------------------------------
  function start() {
    document.addEventListener('keydown', onKey);
    $('timeline').addEventListener('mousedown', onDown);
    document.addEventListener('mousemove', onMove);
    document.addEventListener('mouseup', onUp);
    $('timeline').addEventListener('wheel', onWheel, {passive: false});
    video.addEventListener('timeupdate', tick);
    video.addEventListener('seeked', tick);
    video.addEventListener('error', function () {
      if (S.film && S.film.playable) { message('The browser could not play this film after all.'); }
    });
    document.addEventListener('click', function (e) {
      // a clicked button must not keep the focus: Space and Enter belong to the player
      if (e.target.tagName === 'BUTTON') { e.target.blur(); }
    });
    $('strip').addEventListener('click', function (e) {
      if (e.target.dataset.second !== undefined) { seek(Number(e.target.dataset.second) + 0.5); }
    });
    $('zoom-in').addEventListener('click', function () { zoom(0.5); });
    $('zoom-out').addEventListener('click', function () { zoom(2); });
    $('zoom-all').addEventListener('click', function () { S.v0 = 0; S.v1 = duration(); render(); });
    $('undo').addEventListener('click', undo);
    $('redo').addEventListener('click', redo);
    $('save').addEventListener('click', function () { save(); });
    window.addEventListener('resize', render);
    window.addEventListener('beforeunload', function (e) {
      if (S.dirty && !S.stale) { save(); e.preventDefault(); }
    });
    (function loop() { if (S.film && S.film.playable && !video.paused) { tick(); } requestAnimationFrame(loop); })();
    api('/api/overview').then(function (r) {
      if (r.status !== 200) { status('Error', 'error'); message(r.data.error); return; }
      S.overview = r.data;
      $('annotations-file').textContent = r.data.annotations;
      $('suggest-head').hidden = $('suggest-list').hidden = !r.data.suggested.length;
      if (r.data.suggested.length) { goStretch(0); } else { openFilm(r.data.films[0].id); }
    });
  }
  // what tests and scripts may read (never change): the page's state
  window.scenedetReview = {
    annotations: function () { return copyAnn(S.ann); },
    time: now,
    film: function () { return S.film && S.film.key; },
    view: function () { return [S.v0, S.v1]; },
    saved: function () { return !S.dirty && !S.saving; },
    save: save
  };
  start();
})();
