// probe's HTML report: filter, search, sort and keyboard navigation over the inputs table.
// Reads only data-* attributes and textContent that the server escaped; writes only textContent,
// `hidden` and aria attributes: nothing from a record is ever parsed as HTML.
(function () {
  "use strict";
  var table = document.getElementById("inputs-table");
  if (!table) return;
  var bodies = Array.prototype.slice.call(table.querySelectorAll("tbody.input"));
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var names = ["verdict", "variant", "model", "run", "error"];
  var filters = [];
  names.forEach(function (name) {
    var el = document.getElementById("f-" + name);
    if (el) filters.push([name, el]);
  });

  function matches(tb) {
    var text = search.value.trim().toLowerCase();
    if (text && tb.dataset.id.toLowerCase().indexOf(text) < 0) return false;
    for (var i = 0; i < filters.length; i++) {
      var name = filters[i][0], want = filters[i][1].value;
      if (!want) continue;
      if (name === "variant") {
        if (tb.dataset.variants.split(" ").indexOf(want) < 0) return false;
      } else if (tb.dataset[name] !== want) {
        return false;
      }
    }
    return true;
  }

  function apply() {
    var n = 0;
    bodies.forEach(function (tb) {
      var ok = matches(tb);
      tb.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = n + " of " + bodies.length + " inputs shown";
  }
  search.addEventListener("input", apply);
  filters.forEach(function (f) { f[1].addEventListener("change", apply); });
  search.form.addEventListener("submit", function (e) { e.preventDefault(); });

  // Sorting: a click on a heading sorts by that column, a second click reverses.
  var heads = Array.prototype.slice.call(table.querySelectorAll("thead th"));
  var sortIndex = -1, sortDir = 1;
  function key(tb, index) {
    var cell = tb.querySelector("tr.row").children[index];
    return cell ? (cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent) : "";
  }
  function compare(a, b) {
    var na = parseFloat(a), nb = parseFloat(b);
    var numeric = a !== "" && b !== "" && !isNaN(na) && !isNaN(nb) && isFinite(a) && isFinite(b);
    if (numeric) return na - nb;
    if (a === "" && b !== "") return 1;
    if (b === "" && a !== "") return -1;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }
  heads.forEach(function (th, index) {
    var button = th.querySelector("button");
    if (!button) return;
    button.addEventListener("click", function () {
      sortDir = sortIndex === index ? -sortDir : 1;
      sortIndex = index;
      var keyed = bodies.map(function (tb, i) { return [key(tb, index), i, tb]; });
      keyed.sort(function (x, y) { return sortDir * compare(x[0], y[0]) || x[1] - y[1]; });
      keyed.forEach(function (k) { table.appendChild(k[2]); });
      bodies = keyed.map(function (k) { return k[2]; });
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
    });
  });

  // Opening an input: a click or Enter on its row shows its detail.
  function toggle(row, open) {
    var detail = row.nextElementSibling;
    var now = open === undefined ? detail.hidden : open;
    detail.hidden = !now;
    row.setAttribute("aria-expanded", now ? "true" : "false");
  }
  bodies.forEach(function (tb) {
    var row = tb.querySelector("tr.row");
    row.addEventListener("click", function (e) {
      if (e.target.closest("a")) return;
      toggle(row);
    });
  });

  function visibleRows() {
    return bodies.filter(function (tb) { return !tb.hidden; })
      .map(function (tb) { return tb.querySelector("tr.row"); });
  }
  function move(step) {
    var rows = visibleRows();
    if (!rows.length) return;
    var at = rows.indexOf(document.activeElement);
    var next = at < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, at + step));
    rows[next].focus();
    rows[next].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    var typing = tag === "input" || tag === "select" || tag === "textarea";
    if (e.key === "Escape" && e.target === search) {
      search.value = "";
      apply();
      search.blur();
      return;
    }
    if (typing || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "/") {
      e.preventDefault();
      search.focus();
    } else if (e.key === "j" || e.key === "ArrowDown") {
      e.preventDefault();
      move(1);
    } else if (e.key === "k" || e.key === "ArrowUp") {
      e.preventDefault();
      move(-1);
    } else if ((e.key === "Enter" || e.key === " ") && e.target.classList && e.target.classList.contains("row")) {
      e.preventDefault();
      toggle(e.target);
    }
  });

  // A link to a record's JSON (#json-…) opens its input and the JSON.
  function follow() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (id.indexOf("json-") !== 0) return;
    var block = document.getElementById(id);
    if (!block) return;
    var tb = block.closest("tbody.input");
    if (tb) {
      tb.hidden = false;
      toggle(tb.querySelector("tr.row"), true);
    }
    block.open = true;
    block.scrollIntoView({ block: "start" });
  }
  window.addEventListener("hashchange", follow);
  follow();
  apply();
})();
