// tapwork dashboard: the only script, no build step. Two jobs:
// 1. Parts of a page marked data-refresh="URL" are fetched again every data-every
//    milliseconds and replaced in place (htmx-style), while the tab is visible.
// 2. The items upload (form.upload): a file may be dropped on it as well as chosen; it is
//    sent by XMLHttpRequest so the page shows the bytes sent, then the lines checked (the
//    server streams JSON lines, handlers/web/dashboard/uploads.py), then the report.
//    Every word comes from the form's data-* attributes, translated by the server.
// Without this script every form still works as plain HTML (the report is a page).
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

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (whole, key) {
      return key in values ? String(values[key]) : whole;
    });
  }

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") >= 0;
  }

  // a file dropped beside the upload area would make the browser leave the page for it
  ["dragover", "drop"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (hasFiles(event)) event.preventDefault();
    });
  });

  function uploader(form) {
    var words = form.dataset;
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector("[data-drop]");
    var button = form.querySelector("button[type=submit]");
    var status = form.querySelector(".upload-status");
    var said = form.querySelector("#upload-said");
    var bar = form.querySelector("progress");
    var result = form.querySelector(".upload-result");
    var heading = form.querySelector(".upload-heading");
    var report = form.querySelector(".report");
    var busy = false;

    // share: a number from 0 to 1 (bytes sent), null (checking: no end known), or
    // left out (a sentence alone)
    function say(text, share) {
      status.hidden = false;
      said.textContent = text;
      bar.hidden = share === undefined;
      if (share === null) bar.removeAttribute("value");
      else if (share !== undefined) bar.value = Math.round(share * 100);
    }

    function finish(ok, title, text) {
      busy = false;
      button.disabled = false;
      status.hidden = true;
      result.hidden = false;
      heading.className = "upload-heading " + (ok ? "ok" : "warn");
      heading.textContent = title;
      report.textContent = text;
      report.hidden = !text;
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }

    function failed(text) { finish(false, text, ""); }

    zone.addEventListener("dragenter", function (event) {
      if (hasFiles(event)) zone.classList.add("over");
    });
    zone.addEventListener("dragover", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", function (event) {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove("over");
    });
    zone.addEventListener("drop", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      zone.classList.remove("over");
      var files = event.dataTransfer.files;
      if (files.length !== 1) { say(words.oneFile); return; }
      input.files = files;
      result.hidden = true;
      say(fill(words.chosen, { file: files[0].name }));
      button.focus();
    });
    input.addEventListener("change", function () { status.hidden = true; });

    form.addEventListener("submit", function (event) {
      if (!window.XMLHttpRequest || !window.FormData) return;  // the plain form post
      event.preventDefault();
      if (busy) return;
      var file = input.files && input.files[0];
      if (!file) { say(words.choose); return; }
      if (file.size > parseInt(words.limit, 10)) { failed(words.tooLarge); return; }
      busy = true;
      button.disabled = true;
      result.hidden = true;
      say(fill(words.sending, { file: file.name, percent: 0 }), 0);
      send(file);
    });

    function send(file) {
      var xhr = new XMLHttpRequest();
      var read = 0;
      var last = null;
      function lines() {  // the complete JSON lines that came since the last look
        var text = xhr.responseText;
        var end = text.lastIndexOf("\n");
        if (end < read) return;
        text.slice(read, end).split("\n").forEach(function (line) {
          if (!line) return;
          var value;
          try { value = JSON.parse(line); } catch (e) { return; }
          if (value.done) last = value;
          else if (typeof value.checked === "number")
            say(fill(words.lines, { file: file.name, lines: value.checked }), null);
        });
        read = end + 1;
      }
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/x-ndjson");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable)
          say(fill(words.sending, { file: file.name,
                                    percent: Math.floor(100 * event.loaded / event.total) }),
              event.loaded / event.total);
      });
      xhr.upload.addEventListener("load", function () {
        say(fill(words.checking, { file: file.name }), null);
      });
      xhr.addEventListener("progress", lines);
      xhr.addEventListener("load", function () {
        var type = xhr.getResponseHeader("Content-Type") || "";
        if (type.indexOf("application/x-ndjson") !== 0) {
          failed(xhr.status === 403 ? words.refused : words.failed);
          return;
        }
        lines();
        if (last === null) { failed(words.failed); return; }
        finish(last.ok, last.heading, last.report);
      });
      xhr.addEventListener("error", function () { failed(words.failed); });
      xhr.addEventListener("abort", function () { failed(words.failed); });
      xhr.send(new FormData(form));
    }
  }
  document.querySelectorAll("form.upload").forEach(uploader);
})();
