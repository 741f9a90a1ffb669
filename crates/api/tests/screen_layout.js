// Measures a rendered screen for `screen_browser.rs`. The test's server
// appends this (after `var layoutWall = true|false;`) to the pages it
// serves; the pages themselves carry no JavaScript. It writes a JSON report
// of element boxes into `<pre id="layout-report">`, which the test reads
// from `--dump-dom` and checks in Rust.
//
// Each item: `name` (for failure messages), `kind` ("block", "cell",
// "box"), `group` (items of one group must not overlap; "" for none),
// `required` (must be shown), `shown`, the border box `x y w h`, the box of
// its contents (`content`, text included), `scroll_w`/`client_w`, `lines`
// (distinct text lines) and `clip` (the box of the nearest ancestor that
// clips overflow, if any) and `within` (the box of the part of the page it
// belongs to and must not stick out of: its team, the graph's section…).
(function () {
  "use strict";
  const report = {
    vw: window.innerWidth,
    vh: window.innerHeight,
    root: parseFloat(getComputedStyle(document.documentElement).fontSize),
    scroll_w: document.documentElement.scrollWidth,
    scroll_h: document.documentElement.scrollHeight,
    wall: layoutWall,
    items: [],
  };
  const box = (r) => ({ x: r.left, y: r.top, w: r.width, h: r.height });
  const text = (el) => (el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 40);
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  const clipOf = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.overflowX !== "visible" || s.overflowY !== "visible") {
        return box(p.getBoundingClientRect());
      }
    }
    return null;
  };
  const lines = (el) => {
    const tops = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.textContent.trim() || !n.parentElement || !shown(n.parentElement)) continue;
      const r = document.createRange();
      r.selectNodeContents(n);
      for (const q of r.getClientRects()) {
        if (q.width < 1) continue;
        const mid = q.top + q.height / 2;
        if (!tops.some((t) => Math.abs(t - mid) < q.height / 2)) tops.push(mid);
      }
    }
    return tops.length;
  };
  const add = (el, name, kind, group, required, owner) => {
    const item = { name, kind, group: group || "", required: !!required, shown: !!el && shown(el) };
    if (item.shown) {
      Object.assign(item, box(el.getBoundingClientRect()));
      const range = document.createRange();
      range.selectNodeContents(el);
      const c = range.getBoundingClientRect();
      item.content = c.width > 0 && c.height > 0 ? box(c) : null;
      item.scroll_w = el.scrollWidth;
      item.client_w = el.clientWidth;
      item.lines = lines(el);
      item.clip = clipOf(el);
      item.within = owner && shown(owner) ? box(owner.getBoundingClientRect()) : null;
    }
    report.items.push(item);
  };

  if (layoutWall) {
    // The ward screen: everything that matters whole inside the viewport.
    add(document.querySelector("h1"), "ward name", "box", "", true);
    add(document.getElementById("ward-total"), "ward total", "box", "", true);
    add(document.querySelector(".top .split"), "ward USK/SSK", "box", "", true);
    const blocks = ".top, .banner, .teams, .key, .trend, .components, footer";
    document.querySelectorAll(blocks).forEach((el) => {
      const cls = el.tagName === "FOOTER" ? "footer" : el.className.split(" ")[0];
      const required = cls === "top" || cls === "banner" || cls === "teams";
      add(el, `block .${cls}`, "block", "page blocks", required, el.closest(".main"));
    });
    document.querySelectorAll("section.team").forEach((team) => {
      const t = `team ${team.dataset.team}`;
      add(team, t, "block", "teams", true, team.closest(".teams"));
      add(team.querySelector("header h2"), `${t} heading`, "box", `${t} header`, true, team);
      add(team.querySelector(".team-total"), `${t} total`, "box", `${t} header`, true, team);
      add(team.querySelector(".team-now .split"), `${t} USK/SSK`, "box", "", true, team);
      team.querySelectorAll("table.patients").forEach((table) => {
        add(table, `${t} patient table`, "box", `${t} tables`, true, team);
        const heads = [...table.querySelectorAll("thead th")];
        heads.forEach((th) => add(th, `${t} column header "${text(th)}"`, "cell", `${t} column headers`, false, team));
        table.querySelectorAll("tr.patient").forEach((tr) => {
          const b = `${t} bed ${tr.dataset.bed}`;
          [...tr.children].forEach((td, i) => {
            const col = heads[i] ? text(heads[i]) : `column ${i + 1}`;
            const required = /^(Säng|Poäng|USK \/ SSK|NEWS2|Norton)/.test(col);
            add(td, `${b} cell "${col}"`, "cell", `${b} cells`, required, team);
          });
          const badges = tr.querySelectorAll(".score, .news, .norton-risk, .flag");
          badges.forEach((s) => add(s, `${b} badge "${text(s)}"`, "box", `${b} badges`, false, team));
        });
      });
    });
    document.querySelectorAll(".banner").forEach((el, i) => add(el, `banner ${i + 1}`, "box", "", true));
    document.querySelectorAll("svg.chart").forEach((el) => add(el, "ward graph", "box", "", false, el.closest(".trend")));
    document.querySelectorAll(".trend .legend").forEach((el) => add(el, "graph legend", "box", "", false, el.closest(".trend")));
    document.querySelectorAll(".components tr").forEach((tr) => {
      const c = `component "${text(tr.firstElementChild || tr)}"`;
      const section = tr.closest(".components");
      add(tr, `${c} row`, "box", "component rows", false, section);
      [...tr.children].forEach((td, i) => add(td, `${c} cell ${i + 1}`, "cell", "", false, section));
    });
  } else {
    // Other pages may scroll vertically, never sideways, and cut no cell.
    document.body.querySelectorAll("*").forEach((el) => {
      if (el.id === "layout-report" || el.tagName === "SCRIPT" || el.closest("svg") && el.tagName !== "svg") return;
      const id = el.id ? `#${el.id}` : "";
      const cls = typeof el.className === "string" && el.className ? `.${el.className.split(" ")[0]}` : "";
      const isCell = el.tagName === "TD" || el.tagName === "TH";
      add(el, `${el.tagName.toLowerCase()}${id}${cls} "${text(el)}"`, isCell ? "cell" : "box", "", false);
    });
  }

  const pre = document.createElement("pre");
  pre.id = "layout-report";
  pre.style.display = "none";
  pre.textContent = JSON.stringify(report);
  document.body.appendChild(pre);
})();
