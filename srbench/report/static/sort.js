/* srbench report: sortable tables. No dependencies; the tables are complete without it.
   Click a header button: numbers sort numerically (empty cells last), text alphabetically.
   First click on a metric column puts the best value first (uses data-better on the <th>). */
(function () {
  "use strict";

  function cellKey(cell) {
    if (!cell) return null;
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (raw === "" || raw === "\u2014") return null;
    var n = Number(raw);
    return isNaN(n) ? raw.toLowerCase() : n;
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b));
  }

  function sortBy(table, th) {
    var headers = th.parentNode.children;
    var col = Array.prototype.indexOf.call(headers, th);
    var current = th.getAttribute("aria-sort");
    var dir;
    if (current === "ascending") dir = "descending";
    else if (current === "descending") dir = "ascending";
    else dir = th.getAttribute("data-better") === "higher" ? "descending" : "ascending";
    var sign = dir === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      return { row: row, key: cellKey(row.cells[col]), i: i };
    });
    rows.sort(function (a, b) {
      if (a.key === null && b.key === null) return a.i - b.i;
      if (a.key === null) return 1;  /* missing values always last */
      if (b.key === null) return -1;
      return sign * compare(a.key, b.key) || a.i - b.i;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
    Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
  }

  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    var buttons = table.tHead.querySelectorAll("th > button.sort");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () { sortBy(table, button.parentNode); });
    });
    table.classList.add("js-sortable");
  });
})();
