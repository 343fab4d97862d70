/* The review queue's keyboard shortcuts and the answers htmx swaps in (progressive enhancement: every
   button is a plain form post without JavaScript). j/k move, c confirm, r reject, n note, e correct,
   o open the bill, ? help. */
(function () {
  "use strict";
  var currentId = null;
  var advance = false;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(".review-row"));
  }

  function current() {
    return currentId ? document.getElementById(currentId) : null;
  }

  function select(row, focus) {
    var old = current();
    if (old) old.classList.remove("current");
    currentId = row ? row.id : null;
    if (!row) return;
    row.classList.add("current");
    if (focus !== false) {
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var i = all.indexOf(current());
    var next = i < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, i + step));
    select(all[next]);
  }

  function press(selector) {
    var row = current();
    var button = row && row.querySelector(selector);
    if (button) {
      advance = true;
      button.click();
    }
  }

  function status(text) {
    var el = document.getElementById("review-status");
    if (el) el.textContent = text;
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) {
      if (e.key === "Escape") t.blur();
      return;
    }
    var row = current();
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "c": press("button.confirm"); break;
      case "r": press("button.reject"); break;
      case "n": if (row) row.querySelector("input.note").focus(); break;
      case "e":
        if (row) {
          var d = row.querySelector("details.correct");
          d.open = true;
          d.querySelector("select").focus();
        }
        break;
      case "o": if (row) window.location.href = row.querySelector("a.file").href; break;
      case "?":
        var help = document.getElementById("review-help");
        if (help) help.open = !help.open;
        break;
      default: return;
    }
    e.preventDefault();
  });

  document.addEventListener("click", function (e) {
    var row = e.target.closest && e.target.closest(".review-row");
    if (row) select(row, false);
  });

  // A refused decision (400) answers with the row and its one-line error: show it like a success.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr.status === 400 && e.detail.target.classList.contains("review-row")) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if (xhr.status !== 400) status("Error " + xhr.status + ": " + (xhr.responseText || "").slice(0, 200));
  });

  document.addEventListener("htmx:sendError", function () {
    status("Error: the server did not answer; nothing was changed.");
  });

  document.addEventListener("htmx:afterSettle", function (e) {
    var ok = e.detail.xhr && e.detail.xhr.status === 200;
    var row = current();
    if (row) select(row, false);
    if (advance && ok) move(1);
    advance = false;
  });
})();
