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

  function setupHeatmap(box) {
    const svg = box.querySelector("svg.heatmap");
    if (!svg) return;
    const starts = (svg.dataset.starts || "").split(",").filter(Boolean);
    const rows = Array.from(svg.querySelectorAll("g.hm-row"));
    if (!rows.length || !starts.length) return;
    const cells = rows.map((row) => {
      const byColumn = [];
      row.querySelectorAll("rect[data-c]").forEach((rect) => { byColumn[Number(rect.dataset.c)] = rect; });
      return byColumn;
    });
    let current = null; // [row, column]

    function describe(r, c) {
      const rect = cells[r][c];
      const feature = rows[r].dataset.feature;
      const ratio = rect && rect.dataset.v !== undefined ? Number(rect.dataset.v).toFixed(2) + "× its bar" : "not tested";
      const drifted = rect && rect.classList.contains("d") ? ", drifted" : "";
      return feature + " · " + starts[c].slice(0, 16).replace("T", " ") + ": " + ratio + drifted;
    }
    function href(r, c) {
      const params = new URLSearchParams();
      if (box.dataset.segment) params.set("segment", box.dataset.segment);
      if (box.dataset.version) params.set("version", box.dataset.version);
      params.set("feature", rows[r].dataset.feature);
      const start = starts[c].replace("+00:00", "Z");
      return box.dataset.base + encodeURIComponent(start).replace(/%3A/g, ":") + "?" + params.toString();
    }
    function locate(target) {
      if (!(target instanceof Element) || target.tagName.toLowerCase() !== "rect" || target.dataset.c === undefined) return null;
      const row = target.closest("g.hm-row");
      if (!row) return null;
      return [Number(row.dataset.row), Number(target.dataset.c)];
    }
    function mark(position) {
      if (current) {
        const old = cells[current[0]][current[1]];
        if (old) old.classList.remove("cur");
      }
      current = position;
      const rect = cells[position[0]][position[1]];
      if (rect) {
        rect.classList.add("cur");
        const box2 = rect.getBoundingClientRect();
        show(describe(position[0], position[1]), box2.left, box2.bottom);
        box.setAttribute("aria-label", describe(position[0], position[1]) + ". Enter opens the report.");
      }
    }

    svg.addEventListener("click", (event) => {
      const position = locate(event.target);
      if (position) window.location.assign(href(position[0], position[1]));
    });
    svg.addEventListener("mousemove", (event) => {
      const position = locate(event.target);
      if (position) show(describe(position[0], position[1]), event.clientX, event.clientY);
      else hide();
    });
    svg.addEventListener("mouseleave", hide);
    box.addEventListener("focus", () => { mark(current || [0, starts.length - 1]); });
    box.addEventListener("blur", hide);
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
