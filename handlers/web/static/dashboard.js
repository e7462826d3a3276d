// tapwork dashboard: the only script. Parts of a page marked data-refresh="URL" are
// fetched again every data-every milliseconds and replaced in place (htmx-style), while
// the tab is visible; everything else is plain HTML forms and links.
"use strict";
(function () {
  function refresh(el) {
    if (document.hidden) return;
    fetch(el.dataset.refresh, { credentials: "same-origin", headers: { "X-Partial": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null && html !== el.innerHTML) el.innerHTML = html; })
      .catch(function () {});
  }
  document.querySelectorAll("[data-refresh]").forEach(function (el) {
    var every = parseInt(el.dataset.every || "3000", 10);
    setInterval(function () { refresh(el); }, every);
  });
})();
