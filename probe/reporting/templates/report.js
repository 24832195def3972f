// probe's HTML report: filter, search, sort and keyboard navigation over the inputs table, and
// each input's detail, built when it is opened from the #inputs-data block (gzip, base64, JSON).
// Reads data-* attributes, textContent and that block; writes DOM nodes made with createElement
// and textContent, `hidden` and aria attributes only: nothing from a record is parsed as HTML.
(function () {
  "use strict";
  var table = document.getElementById("inputs-table");
  if (!table) return;
  var bodies = Array.prototype.slice.call(table.querySelectorAll("tbody.input"));
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var sortBy = document.getElementById("sort-by");

  // --- the inputs' details: decoded once, rendered on opening -------------------------------
  var details = null; // uid -> detail, once decoded
  var images = {};
  var waiting = []; // rows opened before the data was ready
  try { images = JSON.parse(document.getElementById("images").textContent); } catch (e) { images = {}; }

  function decode() {
    var block = document.getElementById("inputs-data");
    var text = block ? block.textContent.trim() : "";
    if (!text) return Promise.resolve([]);
    if (typeof DecompressionStream === "undefined") {
      return Promise.reject(new Error("this browser cannot decompress the page's data (no DecompressionStream)"));
    }
    var binary = atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }
  var ready = decode().then(function (list) {
    details = {};
    list.forEach(function (d) { details[d.uid] = d; });
  }, function (err) {
    details = {};
    failure = String(err && err.message || err);
  });
  var failure = "";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function add(parent, child) { if (child) parent.appendChild(child); return child; }

  function badge(verdict, cls) { return el("span", "badge " + (cls || "warn"), verdict); }

  function inputView(d) {
    var box = el("div", "input-view");
    var q = add(box, el("p", "question"));
    add(q, el("strong", "", d.task + ":"));
    q.appendChild(document.createTextNode(" " + d.question));
    var input = d.input || {};
    if (input.kind === "image" && images[d.uid]) {
      var img = images[d.uid];
      var thumb = el("img", "thumb");
      thumb.src = img.thumb;
      thumb.width = input.thumb_size[0];
      thumb.height = input.thumb_size[1];
      thumb.alt = input.alt + (img.full ? " (click for the full image)" : "");
      if (img.full) {
        var det = add(box, el("details", "image"));
        add(add(det, el("summary")), thumb);
        var full = add(det, el("img", "full"));
        full.src = img.full;
        full.width = input.full_size[0];
        full.height = input.full_size[1];
        full.alt = input.alt;
      } else {
        add(box, thumb);
      }
    } else if (input.kind === "text") {
      var quote = add(box, el("blockquote", "input-text", input.text));
      if (input.more) add(quote, el("span", "dim", " … (" + input.more + " more characters)"));
    } else {
      add(box, el("p", "dim", "Input not shown: " + (input.note || "not in the record")));
    }
    return box;
  }

  function facts(list) {
    var dl = el("dl", "facts");
    list.forEach(function (f) {
      add(dl, el("dt", "", f[0]));
      add(dl, el("dd", f[0] === "answer" ? "answer" : "", f[1]));
    });
    return dl;
  }

  function explanation(v) {
    if (v.error) return el("p", "err", v.error);
    if (v.segments) {
      var p = el("p", "explanation diff");
      v.segments.forEach(function (s) {
        if (s[0] === "insert") add(p, el("ins", "", s[1]));
        else if (s[0] === "delete") add(p, el("del", "", s[1]));
        else p.appendChild(document.createTextNode(s[1]));
      });
      return p;
    }
    return el("p", "explanation" + (v.text ? "" : " dim"), v.text || "(no explanation)");
  }

  function transcript(v) {
    var t = v.transcript || {};
    var det = el("details", "transcript");
    add(det, el("summary", "", "transcript: what was sent and what came back"));
    if (t.messages) {
      t.messages.forEach(function (m) {
        var box = add(det, el("div", "message"));
        add(box, el("p", "role", m[0]));
        add(box, el("pre", "said", m[1]));
      });
    } else {
      add(det, el("p", "dim small", "The request is not in this record (records written before probe kept it); the prompt was the variant's, as `probe tasks` lists it."));
    }
    if (t.prefill) {
      var pre = add(det, el("div", "message prefill"));
      add(pre, el("p", "role", "assistant (prefill: put in the model's mouth)"));
      add(pre, el("pre", "said", t.prefill));
    }
    var reply = add(det, el("div", "message reply"));
    add(reply, el("p", "role", t.prefill ? "assistant (the reply, continuing the prefill)" : "assistant (the reply)"));
    add(reply, el("pre", "said", t.reply || "(empty)"));
    (t.follow_up || []).forEach(function (f) {
      var box = add(det, el("div", "message follow-up"));
      add(box, el("p", "role", "answer extraction (" + f.via + ")"));
      if (f.asked) add(box, el("pre", "said", f.asked));
      add(box, el("pre", "said reply", f.reply || "(empty)"));
    });
    return det;
  }

  function variantView(v, label) {
    var art = el("article", "variant");
    art.dataset.variant = v.name;
    var h = add(art, el("h4", "", label ? label : v.name));
    if (v.baseline) add(h, el("small", "", " against " + v.baseline));
    add(art, facts(v.facts));
    add(art, explanation(v));
    if (v.segments) add(art, el("p", "dim small", "underlined: new against " + v.baseline + "; struck: " + v.baseline + "'s words dropped"));
    (v.evidence || []).forEach(function (e) { add(art, el("p", "evidence small", e)); });
    if (v.pushback) add(art, el("p", "evidence small", "pushback: " + v.pushback));
    add(art, el("p", "usage dim small", v.usage));
    add(art, transcript(v));
    if (v.alignment) add(art, alignment(v));
    return art;
  }

  function alignment(v) {
    var a = v.alignment;
    if (a.skipped) return el("p", "dim", v.name + ": no sentence alignment (" + a.skipped + ")");
    var wrap = el("div", "scroll");
    var t = add(wrap, el("table", "alignment"));
    add(t, el("caption", "", v.name + ": what changed, sentence by sentence (similarity " + a.similarity + ")"));
    var head = add(add(t, el("thead")), el("tr"));
    add(head, el("th", "", v.baseline || "baseline"));
    add(head, el("th", "n", "similarity"));
    add(head, el("th", "", v.name));
    var body = add(t, el("tbody"));
    if (!a.rows.length) {
      var td = add(add(body, el("tr")), el("td", "dim", "every sentence kept its meaning"));
      td.colSpan = 3;
    }
    a.rows.forEach(function (r) {
      var tr = add(body, el("tr"));
      add(add(tr, el("td")), el("del", "", r[0]));
      add(tr, el("td", "n", r[1]));
      add(add(tr, el("td")), el("ins", "", r[2]));
    });
    return wrap;
  }

  function cellHead(c, label) {
    var box = el("div", "verdict-view");
    if (label) add(box, el("h4", "series-label", label));
    var p = add(box, el("p"));
    add(p, badge(c.verdict, c.verdict_cls));
    p.appendChild(document.createTextNode(" " + c.verdict_text));
    if (c.person && c.person.length) {
      add(box, el("p", "person", "Settled by a person (probe review): their reading of " + c.person.join(", ") + " replaces probe's; probe's own is under \"probe read\"."));
    }
    c.lines.forEach(function (line) { add(box, el("p", "evidence", line)); });
    if (c.error) add(box, el("p", "err", c.error));
    add(box, el("p", "usage dim small", c.usage));
    return box;
  }

  function recordJson(uid, d) {
    var det = el("details", "json");
    det.id = "json-" + uid;
    add(det, el("summary", "", "record JSON"));
    var records = [];
    d.cells.forEach(function (c) { if (c) records = records.concat(c.records); });
    var pre = add(det, el("pre"));
    pending.set(pre, records);
    det.addEventListener("toggle", function () { fill(pre); });
    return det;
  }
  var pending = new WeakMap(); // a record's JSON, written out when it is first opened
  function fill(pre) {
    var records = pre && pending.get(pre);
    if (!records) return;
    pending.delete(pre);
    pre.textContent = records.map(function (r) { return JSON.stringify(r, null, 2); }).join("\n\n");
  }

  function render(tb) {
    var body = tb.querySelector(".detail-body");
    if (body.dataset.built) return;
    body.dataset.built = "1";
    var d = details && details[tb.id];
    if (!d) {
      add(body, el("p", "err", failure ? "The detail cannot be shown: " + failure : "No detail for this input."));
      return;
    }
    add(body, inputView(d));
    var cells = [];
    d.cells.forEach(function (c, i) { if (c) cells.push([c, d.labels[i]]); });
    if (cells.length === 1) {
      var c = cells[0][0];
      add(body, cellHead(c, d.labels.length > 1 ? cells[0][1] : ""));
      var cols = add(body, el("div", "columns"));
      c.variants.forEach(function (v) { add(cols, variantView(v)); });
    } else {
      // several runs: their verdicts side by side, then each variant side by side
      var heads = add(body, el("div", "side-by-side"));
      cells.forEach(function (pair) { add(heads, cellHead(pair[0], pair[1])).dataset.series = pair[1]; });
      var names = [];
      cells.forEach(function (pair) {
        pair[0].variants.forEach(function (v) { if (names.indexOf(v.name) < 0) names.push(v.name); });
      });
      names.forEach(function (name) {
        add(body, el("h4", "variant-name", name));
        var row = add(body, el("div", "side-by-side"));
        cells.forEach(function (pair) {
          var v = pair[0].variants.filter(function (x) { return x.name === name; })[0];
          if (v) add(row, variantView(v, pair[1])).dataset.series = pair[1];
          else add(row, el("p", "dim", pair[1] + ": not run"));
        });
      });
    }
    add(body, recordJson(tb.id, d));
  }

  // --- filtering and search: arrays read once, `hidden` changed only where it changes ---------
  var rows = bodies.map(function (tb) {
    function list(name) {
      try { return JSON.parse(tb.getAttribute("data-" + name) || "[]"); } catch (e) { return []; }
    }
    return {
      tb: tb, id: (tb.dataset.id || "").toLowerCase(), task: tb.dataset.task || "",
      verdicts: list("verdicts"), models: list("models"), runs: list("runs"),
      variants: list("variants"), error: tb.dataset.error === "yes" ? "yes" : "no", shown: true,
    };
  });
  // Each cell is labelled with its column's heading (shown before it where rows are cards) and
  // keeps its table role where the layout is not a table's.
  var labels = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
    return th.textContent.trim();
  });
  table.setAttribute("role", "table");
  Array.prototype.forEach.call(table.querySelectorAll("thead th"), function (th) {
    th.setAttribute("role", "columnheader");
  });
  rows.forEach(function (r) {
    var row = r.tb.rows[0];
    row.setAttribute("role", "row");
    for (var i = 0; i < row.cells.length; i++) {
      row.cells[i].setAttribute("role", "cell");
      if (labels[i]) row.cells[i].setAttribute("data-label", labels[i]);
    }
  });
  var filters = [];
  ["verdicts", "variants", "models", "runs", "task", "error"].forEach(function (name) {
    var select = document.getElementById("f-" + name);
    if (select) filters.push([name, select]);
  });

  function matches(r, text, wanted) {
    if (text && r.id.indexOf(text) < 0) return false;
    for (var i = 0; i < wanted.length; i++) {
      var name = wanted[i][0], want = wanted[i][1], have = r[name];
      if (typeof have === "string" ? have !== want : have.indexOf(want) < 0) return false;
    }
    return true;
  }

  function apply() {
    var text = search.value.trim().toLowerCase();
    var wanted = filters.filter(function (f) { return f[1].value; })
      .map(function (f) { return [f[0], f[1].value]; });
    var n = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i], ok = matches(r, text, wanted);
      if (ok !== r.shown) { r.tb.hidden = !ok; r.shown = ok; }
      if (ok) n++;
    }
    shown.textContent = n + " of " + rows.length + " inputs shown";
  }
  search.addEventListener("input", apply);
  filters.forEach(function (f) { f[1].addEventListener("change", apply); });
  search.form.addEventListener("submit", function (e) { e.preventDefault(); });

  // --- sorting: a heading (or the sort menu) sorts by its column; again reverses ---------------
  var heads = Array.prototype.slice.call(table.querySelectorAll("thead th"));
  var sortIndex = -1, sortDir = 1;
  function key(r, index) {
    var cell = r.tb.rows[0].cells[index];
    var text = cell ? cell.textContent.trim() : "";
    return text === "–" ? "" : text;
  }
  function compare(a, b) {
    var na = parseFloat(a), nb = parseFloat(b);
    var numeric = a !== "" && b !== "" && !isNaN(na) && !isNaN(nb) && isFinite(a) && isFinite(b);
    if (numeric) return na - nb;
    if (a === "" && b !== "") return 1;
    if (b === "" && a !== "") return -1;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }
  function sortOn(index, dir) {
    sortDir = dir;
    sortIndex = index;
    var keyed = rows.map(function (r, i) { return [key(r, index), i, r]; });
    keyed.sort(function (x, y) { return sortDir * compare(x[0], y[0]) || x[1] - y[1]; });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k[2].tb); });
    table.appendChild(frag);
    rows = keyed.map(function (k) { return k[2]; });
    bodies = rows.map(function (r) { return r.tb; });
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    heads[index].setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
    if (sortBy) sortBy.value = index + ":" + sortDir;
  }
  heads.forEach(function (th, index) {
    var button = th.querySelector("button");
    if (!button) return;
    button.addEventListener("click", function () { sortOn(index, sortIndex === index ? -sortDir : 1); });
    if (sortBy) {
      [1, -1].forEach(function (dir) {
        var option = el("option", "", th.textContent.trim() + (dir > 0 ? " ▲" : " ▼"));
        option.value = index + ":" + dir;
        sortBy.appendChild(option);
      });
    }
  });
  if (sortBy) {
    sortBy.addEventListener("change", function () {
      var parts = sortBy.value.split(":");
      if (parts.length === 2) sortOn(+parts[0], +parts[1]);
    });
  }

  // --- opening an input: a click or Enter on its row shows its detail --------------------------
  function detailOf(row) {
    var detail = row.nextElementSibling;
    if (detail) return detail;
    var tb = row.parentNode;
    detail = el("tr", "detail");
    detail.id = tb.id + "-detail";
    detail.hidden = true;
    var td = add(detail, el("td"));
    td.colSpan = row.cells.length;
    add(td, el("div", "detail-body"));
    tb.appendChild(detail);
    row.setAttribute("aria-controls", detail.id);
    return detail;
  }
  function toggle(row, open) {
    var detail = detailOf(row);
    var now = open === undefined ? detail.hidden : open;
    detail.hidden = !now;
    row.setAttribute("aria-expanded", now ? "true" : "false");
    if (now) {
      var tb = row.parentNode;
      if (details) render(tb);
      else waiting.push(tb);
    }
  }
  table.addEventListener("click", function (e) {
    if (e.target.closest("a") || e.target.closest("tr.detail") || e.target.closest("thead")) return;
    var row = e.target.closest("tr.row");
    if (row) toggle(row);
  });

  function visibleRows() {
    return rows.filter(function (r) { return r.shown; }).map(function (r) { return r.tb.rows[0]; });
  }
  function move(step) {
    var list = visibleRows();
    if (!list.length) return;
    var at = list.indexOf(document.activeElement);
    var next = at < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, at + step));
    list[next].focus();
    list[next].scrollIntoView({ block: "nearest" });
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
    var tb = document.getElementById(id.slice(5));
    if (!tb || !tb.classList.contains("input")) return;
    tb.hidden = false;
    toggle(tb.rows[0], true);
    ready.then(function () {
      var block = document.getElementById(id);
      if (!block) return;
      block.open = true;
      fill(block.querySelector("pre"));
      block.scrollIntoView({ block: "start" });
    });
  }
  window.addEventListener("hashchange", follow);
  ready.then(function () {
    waiting.forEach(render);
    waiting = [];
    document.body.dataset.ready = failure ? "failed" : "yes";
  });
  follow();
  apply();
})();
