(function () {
  "use strict";
  var table = document.getElementById("summary-table");
  var filter = document.getElementById("filter");
  var onlyDrifted = document.getElementById("only-drifted");
  var shownCount = document.getElementById("shown-count");
  var cards = document.querySelectorAll("details.card");
  if (!table || !filter || !onlyDrifted) {
    return;
  }
  var body = table.tBodies[0];

  function matches(element, query, drifted) {
    var name = (element.getAttribute("data-name") || "").toLowerCase();
    return name.indexOf(query) !== -1 && (!drifted || element.getAttribute("data-drifted") === "1");
  }

  function applyFilter() {
    var query = filter.value.trim().toLowerCase();
    var drifted = onlyDrifted.checked;
    var rows = body.rows;
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var visible = matches(rows[i], query, drifted);
      rows[i].hidden = !visible;
      if (visible) {
        shown++;
      }
    }
    for (var j = 0; j < cards.length; j++) {
      cards[j].hidden = !matches(cards[j], query, drifted);
    }
    if (shownCount) {
      shownCount.textContent = shown + " of " + rows.length + " columns";
    }
  }
  filter.addEventListener("input", applyFilter);
  onlyDrifted.addEventListener("change", applyFilter);

  var headers = table.tHead.rows[0].cells;
  var sortKey = null;
  var direction = 1;

  function sortValue(row, key, numeric) {
    var raw = row.getAttribute("data-" + key) || "";
    if (!numeric) {
      return raw.toLowerCase();
    }
    return raw === "" ? NaN : parseFloat(raw);
  }

  function sortBy(header) {
    var key = header.getAttribute("data-sort");
    var numeric = header.getAttribute("data-type") === "number";
    direction = sortKey === key ? -direction : 1;
    sortKey = key;
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortValue(a, key, numeric);
      var y = sortValue(b, key, numeric);
      var order = 0;
      if (numeric && (isNaN(x) || isNaN(y))) {
        order = isNaN(x) === isNaN(y) ? 0 : (isNaN(x) ? 1 : -1);  /* missing values last */
      } else {
        order = (x < y ? -1 : (x > y ? 1 : 0)) * direction;
      }
      return order || (Number(a.getAttribute("data-order")) - Number(b.getAttribute("data-order")));
    });
    for (var i = 0; i < rows.length; i++) {
      body.appendChild(rows[i]);
    }
    for (var j = 0; j < headers.length; j++) {
      headers[j].removeAttribute("aria-sort");
    }
    header.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
  }

  Array.prototype.forEach.call(headers, function (header) {
    if (!header.getAttribute("data-sort")) {
      return;
    }
    header.tabIndex = 0;
    header.addEventListener("click", function () { sortBy(header); });
    header.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        sortBy(header);
      }
    });
  });

  function setAll(open) {
    for (var i = 0; i < cards.length; i++) {
      cards[i].open = open;
    }
  }
  var expand = document.getElementById("expand-all");
  var collapse = document.getElementById("collapse-all");
  if (expand) {
    expand.addEventListener("click", function () { setAll(true); });
  }
  if (collapse) {
    collapse.addEventListener("click", function () { setAll(false); });
  }

  function openCard(id) {
    var target = id ? document.getElementById(id) : null;
    if (target && target.tagName === "DETAILS") {
      target.open = true;
    }
  }
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest ? event.target.closest("a[href^='#col-']") : null;
    if (link) {
      openCard(link.getAttribute("href").slice(1));
    }
  });
  window.addEventListener("hashchange", function () { openCard(location.hash.slice(1)); });
  openCard(location.hash.slice(1));
  applyFilter();
})();
