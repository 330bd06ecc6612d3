// seismo UI: the heatmap's pointer and keyboard drill-down and its tooltip. Everything else
// is plain links and forms; the pages work without this script, only the heatmap's cells
// need it (each window is also listed as a link under the heatmap).
"use strict";
(function () {
  const tip = document.getElementById("tip");

  function show(text, x, y) {
    if (!tip) return;
    tip.textContent = text;
    tip.hidden = false;
    const width = tip.offsetWidth;
    tip.style.left = Math.min(x + 12, window.innerWidth - width - 8) + "px";
    tip.style.top = (y + 14) + "px";
  }
  function hide() { if (tip) tip.hidden = true; }

  function numbers(text) {
    return (text || "").split(",").filter((part) => part !== "").map(Number);
  }

  function setupHeatmap(box) {
    const svg = box.querySelector("svg.heatmap");
    if (!svg) return;
    const starts = (svg.dataset.starts || "").split(",").filter(Boolean);
    const xs = numbers(svg.dataset.x);
    const widths = numbers(svg.dataset.w);
    const top = Number(svg.dataset.top);
    const height = Number(svg.dataset.ch);
    const rows = Array.from(svg.querySelectorAll("g.hm-row"));
    if (!rows.length || !starts.length) return;
    const cursor = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    cursor.setAttribute("class", "cur");
    cursor.setAttribute("visibility", "hidden");
    svg.appendChild(cursor);
    let current = null; // [row, column]

    function value(r, c) {
      const text = (rows[r].dataset.v || "").split(",")[c];
      return text === undefined || text === "" ? null : Number(text);
    }
    function describe(r, c) {
      const ratio = value(r, c);
      const drifted = (rows[r].dataset.d || "")[c] === "1" ? ", drifted" : "";
      const shown = ratio === null ? "not tested" : ratio.toFixed(2) + "× its bar";
      return rows[r].dataset.feature + " · " + starts[c].slice(0, 16).replace("T", " ") +
        ": " + shown + drifted;
    }
    function href(r, c) {
      const params = new URLSearchParams();
      if (box.dataset.segment) params.set("segment", box.dataset.segment);
      if (box.dataset.version) params.set("version", box.dataset.version);
      params.set("feature", rows[r].dataset.feature);
      const start = starts[c].replace("+00:00", "Z");
      return box.dataset.base + encodeURIComponent(start).replace(/%3A/g, ":") + "?" +
        params.toString();
    }
    function locate(event) {
      // The pointer in the chart's own units, then the row and the column under it.
      const matrix = svg.getScreenCTM();
      if (!matrix) return null;
      const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
      const r = Math.floor((point.y - top) / height);
      if (r < 0 || r >= rows.length) return null;
      let low = 0;
      let high = xs.length - 1;
      while (low < high) { // the last column starting at or left of the pointer
        const middle = (low + high + 1) >> 1;
        if (xs[middle] <= point.x) low = middle; else high = middle - 1;
      }
      if (point.x < xs[low] || point.x > xs[low] + widths[low]) return null;
      return [r, low];
    }
    function mark(position) {
      current = position;
      const [r, c] = position;
      cursor.setAttribute("x", String(xs[c]));
      cursor.setAttribute("y", String(top + r * height));
      cursor.setAttribute("width", String(Math.max(widths[c], 2)));
      cursor.setAttribute("height", String(height - 1));
      cursor.setAttribute("visibility", "visible");
      const area = cursor.getBoundingClientRect();
      show(describe(r, c), area.left, area.bottom);
      box.setAttribute("aria-label", describe(r, c) + ". Enter opens the report.");
    }

    svg.addEventListener("click", (event) => {
      const position = locate(event);
      if (position) window.location.assign(href(position[0], position[1]));
    });
    svg.addEventListener("mousemove", (event) => {
      const position = locate(event);
      if (position) show(describe(position[0], position[1]), event.clientX, event.clientY);
      else hide();
    });
    svg.addEventListener("mouseleave", hide);
    box.addEventListener("focus", () => { mark(current || [0, starts.length - 1]); });
    box.addEventListener("blur", () => { hide(); cursor.setAttribute("visibility", "hidden"); });
    box.addEventListener("keydown", (event) => {
      if (!current) current = [0, starts.length - 1];
      let [r, c] = current;
      switch (event.key) {
        case "ArrowUp": r = Math.max(0, r - 1); break;
        case "ArrowDown": r = Math.min(rows.length - 1, r + 1); break;
        case "ArrowLeft": c = Math.max(0, c - 1); break;
        case "ArrowRight": c = Math.min(starts.length - 1, c + 1); break;
        case "Home": c = 0; break;
        case "End": c = starts.length - 1; break;
        case "Enter": case " ":
          event.preventDefault();
          window.location.assign(href(r, c));
          return;
        case "Escape": hide(); return;
        default: return;
      }
      event.preventDefault();
      mark([r, c]);
    });
  }

  document.querySelectorAll(".heat").forEach(setupHeatmap);
  performance.mark("seismo-ready"); // the page answers the pointer and the keyboard
})();
