/* The Mini App: draw boxes or place points on one picture, then send them.
 *
 * Plain JavaScript, no build step. Telegram's telegram-web-app.js is used when present
 * (initData, theme colours, viewport height, closing); without it (a browser, the
 * tests) initData and theme come from the URL's #tgWebAppData / #tgWebAppThemeParams,
 * which is where Telegram puts them too. Every word shown comes from the page
 * (#strings), translated by the server.
 *
 * Coordinates are kept normalised (0..1 across the picture) and sent that way; the
 * server rounds and checks them. One finger draws, moves or resizes; two fingers zoom
 * and pan. Handles are drawn 44 screen pixels across whatever the zoom.
 */
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("strings").textContent);
  var app = document.getElementById("app");
  var base = app.dataset.base;  // /app/task/<assignment> or /app/quiz/<attempt>/<position>
  var lang = app.dataset.lang;
  var tg = window.Telegram && window.Telegram.WebApp ? window.Telegram.WebApp : null;
  var $ = function (id) { return document.getElementById(id); };
  var stage = $("stage"), canvas = $("canvas"), img = $("picture"), svg = $("overlay");
  var NS = "http://www.w3.org/2000/svg";
  var HANDLE = 22;          // handle radius in screen pixels (44 px across)
  var HIT = 30;             // how near a finger must come to grab a handle or point
  var MIN_DRAG = 8;         // screen pixels before a drag draws a box

  function hashParam(name) {
    var hash = new URLSearchParams(location.hash.replace(/^#/, ""));
    return hash.get(name);
  }
  var initData = (tg && tg.initData) || hashParam("tgWebAppData") || "";

  function say(text, error) {
    var status = $("status");
    status.textContent = text || "";
    status.classList.toggle("error", !!error);
  }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }

  // -- theme and viewport ------------------------------------------------------------
  var THEME = { bg_color: "--bg", text_color: "--text", hint_color: "--hint",
    button_color: "--accent", button_text_color: "--accent-text",
    secondary_bg_color: "--secondary-bg" };
  function applyTheme(params) {
    if (!params) return;
    Object.keys(THEME).forEach(function (key) {
      if (params[key]) document.documentElement.style.setProperty(THEME[key], params[key]);
    });
  }
  function applyViewport() {
    var height = tg && (tg.viewportStableHeight || tg.viewportHeight);
    if (height) document.documentElement.style.setProperty("--vh", height + "px");
    fit();
  }
  if (tg) {
    applyTheme(tg.themeParams);
    tg.onEvent("themeChanged", function () { applyTheme(tg.themeParams); });
    tg.onEvent("viewportChanged", applyViewport);
    tg.ready();
    tg.expand();
  } else {
    try { applyTheme(JSON.parse(hashParam("tgWebAppThemeParams") || "null")); }
    catch (e) { /* no theme: the defaults */ }
  }
  window.addEventListener("resize", applyViewport);

  // -- state -------------------------------------------------------------------------
  var task = null;            // kind, labels, min_points, max_points, ordered
  var shapes = [];            // boxes {label,x0,y0,x1,y1} or points {x,y}, normalised
  var history = [];           // snapshots for Undo
  var selected = -1;
  var label = null;           // the label new boxes get
  var view = { s: 1, x: 0, y: 0, w: 0, h: 0 };  // zoom, pan, fitted picture size
  var sent = false;

  function snapshot() { history.push(JSON.stringify(shapes)); }
  function undo() {
    if (!history.length) return;
    shapes = JSON.parse(history.pop());
    selected = -1;
    render();
  }

  // -- view: fit, zoom, pan ----------------------------------------------------------
  function fit() {
    if (!img.naturalWidth) return;
    var box = stage.getBoundingClientRect();
    var scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
    view.w = img.naturalWidth * scale;
    view.h = img.naturalHeight * scale;
    img.style.width = view.w + "px";
    img.style.height = view.h + "px";
    svg.setAttribute("width", view.w);
    svg.setAttribute("height", view.h);
    svg.setAttribute("viewBox", "0 0 " + view.w + " " + view.h);
    view.s = 1;
    view.x = (box.width - view.w) / 2;
    view.y = (box.height - view.h) / 2;
    place();
  }
  function place() {
    var box = stage.getBoundingClientRect();
    // keep at least a third of the picture on screen
    var w = view.w * view.s, h = view.h * view.s;
    view.x = Math.min(box.width - w / 3, Math.max(view.x, w / 3 - w));
    view.y = Math.min(box.height - h / 3, Math.max(view.y, h / 3 - h));
    canvas.style.transform = "translate(" + view.x + "px," + view.y + "px) scale(" +
      view.s + ")";
    render();
  }
  function zoomAt(factor, cx, cy) {
    var s = Math.min(8, Math.max(1, view.s * factor));
    view.x = cx - (cx - view.x) * s / view.s;
    view.y = cy - (cy - view.y) * s / view.s;
    view.s = s;
    place();
  }
  function zoomCentre(factor) {
    var box = stage.getBoundingClientRect();
    zoomAt(factor, box.width / 2, box.height / 2);
  }

  // screen (client) point <-> normalised picture point
  function toPicture(clientX, clientY) {
    var box = stage.getBoundingClientRect();
    return { x: (clientX - box.left - view.x) / (view.w * view.s),
             y: (clientY - box.top - view.y) / (view.h * view.s) };
  }
  function toScreen(p) {
    var box = stage.getBoundingClientRect();
    return { x: box.left + view.x + p.x * view.w * view.s,
             y: box.top + view.y + p.y * view.h * view.s };
  }
  function clamp(v) { return Math.min(1, Math.max(0, v)); }

  // -- drawing -----------------------------------------------------------------------
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (parent || svg).appendChild(node);
    return node;
  }
  function corners(b) {
    return [{ x: b.x0, y: b.y0 }, { x: b.x1, y: b.y0 }, { x: b.x1, y: b.y1 },
            { x: b.x0, y: b.y1 }];
  }
  function render() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var line = 2 / view.s, r = HANDLE / view.s;
    shapes.forEach(function (s, i) {
      var on = i === selected ? " selected" : "";
      if (task.kind === "boxes") {
        var attrs = { x: s.x0 * view.w, y: s.y0 * view.h, width: (s.x1 - s.x0) * view.w,
          height: (s.y1 - s.y0) * view.h };
        el("rect", Object.assign({ "class": "box" + on, "stroke-width": line * 1.5 }, attrs));
        el("rect", Object.assign({ "class": "edge", "stroke-width": line / 2 }, attrs));
        if (task.labels.length > 1) {
          var t = el("text", { x: s.x0 * view.w + 4 / view.s, y: s.y0 * view.h + 16 / view.s,
            "font-size": 14 / view.s, "stroke-width": 3 / view.s });
          t.textContent = nameOf(s.label);
        }
        if (i === selected) {
          corners(s).forEach(function (c) {
            el("circle", { "class": "handle", cx: c.x * view.w, cy: c.y * view.h, r: r * 0.6,
              "stroke-width": line * 1.5 });
          });
        }
      } else {
        el("circle", { "class": "point" + on, cx: s.x * view.w, cy: s.y * view.h,
          r: 7 / view.s, "stroke-width": line });
        if (task.ordered) {
          var n = el("text", { x: s.x * view.w + 9 / view.s, y: s.y * view.h - 9 / view.s,
            "font-size": 14 / view.s, "stroke-width": 3 / view.s });
          n.textContent = String(i + 1);
        }
      }
    });
    $("delete").hidden = selected < 0;
    $("undo").disabled = !history.length;
    count();
  }
  function count() {
    if (!task) return;
    $("help").textContent = task.kind === "boxes"
      ? T.boxes_help + " " + fill(T.count_boxes, { count: shapes.length })
      : T.points_help + " " + fill(T.count_points, { count: shapes.length,
        low: task.min_points, high: task.max_points });
  }
  function nameOf(value) {
    var found = task.labels.filter(function (l) { return l.value === value; })[0];
    return found ? found.name : value;
  }

  // what a finger touches: a handle of the selected box, a box, a point, or nothing
  function hit(clientX, clientY) {
    var near = function (p) {
      var s = toScreen(p);
      return Math.hypot(s.x - clientX, s.y - clientY);
    };
    if (task.kind === "points") {
      var best = -1, bestD = HIT;
      shapes.forEach(function (p, i) {
        var d = near(p);
        if (d <= bestD) { best = i; bestD = d; }
      });
      return best >= 0 ? { what: "point", index: best } : { what: "none" };
    }
    if (selected >= 0) {
      var cs = corners(shapes[selected]);
      for (var c = 0; c < 4; c++) {
        if (near(cs[c]) <= HIT) return { what: "handle", index: selected, corner: c };
      }
    }
    var p = toPicture(clientX, clientY);
    var order = shapes.map(function (_, i) { return i; });
    if (selected >= 0) order.unshift(selected);
    for (var k = 0; k < order.length; k++) {
      var b = shapes[order[k]];
      if (p.x >= b.x0 && p.x <= b.x1 && p.y >= b.y0 && p.y <= b.y1) {
        return { what: "box", index: order[k] };
      }
    }
    return { what: "none" };
  }

  // -- fingers -----------------------------------------------------------------------
  var fingers = new Map();
  var action = null;        // what one finger is doing
  var pinch = null;         // two fingers: start distance, midpoint and view

  function midpoint() {
    var pts = Array.from(fingers.values());
    var box = stage.getBoundingClientRect();
    return { x: (pts[0].x + pts[1].x) / 2 - box.left, y: (pts[0].y + pts[1].y) / 2 - box.top,
             d: Math.hypot(pts[0].x - pts[1].x, pts[0].y - pts[1].y) };
  }
  function cancelAction() {
    if (action && action.before !== null && action.changed) {
      shapes = JSON.parse(action.before);
    }
    action = null;
  }

  stage.addEventListener("pointerdown", function (e) {
    if (!task || sent) return;
    e.preventDefault();
    stage.setPointerCapture(e.pointerId);
    fingers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (fingers.size === 2) {
      cancelAction();
      var m = midpoint();
      pinch = { d: m.d || 1, x: m.x, y: m.y, s: view.s, vx: view.x, vy: view.y };
      render();
      return;
    }
    if (fingers.size > 2) return;
    var h = hit(e.clientX, e.clientY);
    var before = JSON.stringify(shapes);
    action = { what: h.what, index: h.index, corner: h.corner, start: toPicture(e.clientX,
      e.clientY), sx: e.clientX, sy: e.clientY, before: before, changed: false,
      orig: h.index >= 0 ? Object.assign({}, shapes[h.index]) : null };
    if (h.what === "box" || h.what === "point" || h.what === "handle") {
      selected = h.index;
      if (task.kind === "boxes" && h.what !== "handle") chooseLabel(shapes[h.index].label);
      render();
    }
  });

  stage.addEventListener("pointermove", function (e) {
    if (!fingers.has(e.pointerId)) return;
    fingers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pinch && fingers.size >= 2) {
      var m = midpoint();
      var s = Math.min(8, Math.max(1, pinch.s * m.d / pinch.d));
      // the picture point under the fingers' first midpoint stays under them
      view.x = m.x - (pinch.x - pinch.vx) * s / pinch.s;
      view.y = m.y - (pinch.y - pinch.vy) * s / pinch.s;
      view.s = s;
      place();
      return;
    }
    if (!action) return;
    var p = toPicture(e.clientX, e.clientY);
    var moved = Math.hypot(e.clientX - action.sx, e.clientY - action.sy) >= MIN_DRAG;
    if (action.what === "none" && task.kind === "boxes" && moved) {
      if (!action.changed) {
        shapes.push({ label: label, x0: 0, y0: 0, x1: 0, y1: 0 });
        action.index = selected = shapes.length - 1;
        action.what = "new";
        action.changed = true;
      }
    }
    if (action.what === "new") {
      var b = shapes[action.index], a = action.start;
      b.x0 = clamp(Math.min(a.x, p.x)); b.x1 = clamp(Math.max(a.x, p.x));
      b.y0 = clamp(Math.min(a.y, p.y)); b.y1 = clamp(Math.max(a.y, p.y));
    } else if (action.what === "box" && moved) {
      var o = action.orig, w = o.x1 - o.x0, h = o.y1 - o.y0;
      var dx = Math.min(1 - o.x1, Math.max(-o.x0, p.x - action.start.x));
      var dy = Math.min(1 - o.y1, Math.max(-o.y0, p.y - action.start.y));
      Object.assign(shapes[action.index], { x0: o.x0 + dx, x1: o.x0 + dx + w,
        y0: o.y0 + dy, y1: o.y0 + dy + h });
      action.changed = true;
    } else if (action.what === "handle") {
      var q = action.orig, c = action.corner, nb = shapes[action.index];
      var xs = c === 0 || c === 3 ? [clamp(p.x), q.x1] : [q.x0, clamp(p.x)];
      var ys = c === 0 || c === 1 ? [clamp(p.y), q.y1] : [q.y0, clamp(p.y)];
      nb.x0 = Math.min(xs[0], xs[1]); nb.x1 = Math.max(xs[0], xs[1]);
      nb.y0 = Math.min(ys[0], ys[1]); nb.y1 = Math.max(ys[0], ys[1]);
      action.changed = true;
    } else if (action.what === "point" && moved) {
      shapes[action.index] = { x: clamp(p.x), y: clamp(p.y) };
      action.changed = true;
    }
    render();
  });

  function release(e) {
    if (!fingers.has(e.pointerId)) return;
    fingers.delete(e.pointerId);
    if (pinch) {
      if (fingers.size === 0) pinch = null;
      return;
    }
    if (!action) return;
    var moved = Math.hypot(e.clientX - action.sx, e.clientY - action.sy) >= MIN_DRAG;
    if (action.what === "none" && !moved) {
      if (task.kind === "points" && shapes.length < task.max_points) {
        var p = toPicture(e.clientX, e.clientY);
        if (p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1) {
          history.push(action.before);
          shapes.push({ x: p.x, y: p.y });
          selected = shapes.length - 1;
        }
      } else {
        selected = -1;
      }
    } else if (action.changed) {
      var b = shapes[action.index];
      var tiny = task.kind === "boxes" && ((b.x1 - b.x0) * view.w * view.s < 12 ||
        (b.y1 - b.y0) * view.h * view.s < 12);
      if (tiny) {
        shapes = JSON.parse(action.before);  // a slip of the finger, not a box
        selected = -1;
      } else {
        history.push(action.before);
      }
    }
    action = null;
    render();
  }
  stage.addEventListener("pointerup", release);
  stage.addEventListener("pointercancel", function (e) {
    cancelAction();
    fingers.delete(e.pointerId);
    if (!fingers.size) pinch = null;
    render();
  });
  stage.addEventListener("wheel", function (e) {
    e.preventDefault();
    var box = stage.getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.2 : 1 / 1.2, e.clientX - box.left, e.clientY - box.top);
  }, { passive: false });

  // -- labels and buttons ------------------------------------------------------------
  function chooseLabel(value) {
    label = value;
    Array.prototype.forEach.call($("labels").children, function (b) {
      b.setAttribute("aria-checked", String(b.dataset.value === value));
    });
  }
  function buildLabels() {
    var group = $("labels");
    if (task.kind !== "boxes" || task.labels.length < 2) {
      label = task.labels.length ? task.labels[0].value : null;
      return;
    }
    group.hidden = false;
    task.labels.forEach(function (l) {
      var b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "radio");
      b.dataset.value = l.value;
      b.textContent = l.name;
      b.addEventListener("click", function () {
        if (selected >= 0 && shapes[selected].label !== l.value) {
          snapshot();
          shapes[selected].label = l.value;
        }
        chooseLabel(l.value);
        render();
      });
      group.appendChild(b);
    });
    chooseLabel(task.labels[0].value);
  }
  $("undo").addEventListener("click", undo);
  $("zoom-in").addEventListener("click", function () { zoomCentre(1.5); });
  $("zoom-out").addEventListener("click", function () { zoomCentre(1 / 1.5); });
  $("zoom-reset").addEventListener("click", fit);
  $("delete").addEventListener("click", function () {
    if (selected < 0) return;
    snapshot();
    shapes.splice(selected, 1);
    selected = -1;
    render();
  });

  function confirmNothing(then) {
    if (!shapes.length) return then();
    if (tg && tg.showConfirm) {
      tg.showConfirm(T.confirm_nothing, function (ok) { if (ok) then(); });
    } else if (window.confirm(T.confirm_nothing)) {
      then();
    }
  }
  $("nothing").addEventListener("click", function () {
    confirmNothing(function () { send([]); });
  });
  $("submit").addEventListener("click", function () {
    if (task.kind === "boxes" && !shapes.length) return say(T.need_shape, true);
    if (task.kind === "points" && (shapes.length < task.min_points ||
        shapes.length > task.max_points)) {
      return say(fill(T.need_points, { low: task.min_points, high: task.max_points }), true);
    }
    send(shapes.map(function (s) {
      return task.kind === "boxes" ? { label: s.label, box: [s.x0, s.y0, s.x1, s.y1] }
        : [s.x, s.y];
    }));
  });

  // -- talking to the server ---------------------------------------------------------
  function call(path, options) {
    options = options || {};
    options.headers = Object.assign({ Authorization: "tma " + initData },
      options.headers || {});
    return fetch(base + path, options);
  }
  function busy(on) {
    ["submit", "nothing", "undo"].forEach(function (id) { $(id).disabled = on; });
  }
  function send(drawing) {
    busy(true);
    say(T.sending);
    call("/answer?lang=" + lang, { method: "POST", body: JSON.stringify({ drawing: drawing }),
      headers: { "Content-Type": "application/json" } })
      .then(function (r) { return r.json().catch(function () { return {}; }); })
      .then(function (answer) {
        if (answer.ok) {
          sent = true;
          say(answer.message || T.saved);
          app.dataset.sent = "true";
          if (tg) setTimeout(function () { tg.close(); }, 700);
          return;
        }
        busy(false);
        $("undo").disabled = !history.length;
        say(answer.message || T[answer.outcome] || T.failed, true);
        if (answer.outcome !== "invalid" && answer.outcome !== "busy") {
          busy(true);
          sent = true;
        }
      })
      .catch(function () { busy(false); say(T.failed, true); });
  }

  function start() {
    call("/task?lang=" + lang)
      .then(function (r) { return r.json().catch(function () { return {}; }); })
      .then(function (found) {
        if (!found.ok) {
          busy(true);
          $("title").textContent = "";
          say(T[found.outcome] || T.failed, true);
          return;
        }
        task = found;
        busy(false);
        $("undo").disabled = true;
        $("title").textContent = found.title;
        $("instructions").textContent = found.instructions === found.title ? ""
          : found.instructions;
        buildLabels();
        count();
        return call("/image").then(function (r) {
          if (!r.ok) throw new Error("image");
          return r.blob();
        }).then(function (blob) {
          img.onload = function () { fit(); app.dataset.ready = "true"; };
          img.src = URL.createObjectURL(blob);
        });
      })
      .catch(function () { say(T.failed, true); });
  }
  busy(true);
  start();
})();
