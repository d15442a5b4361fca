// Draws the report from the data the harness put in the page: plots against time
// (latency points and quantile lines, request rate, faults) and a Lamport diagram
// of the messages in a window of time the reader moves, zooms and filters. Written
// by hand, with no library, so the page opens from the file system with nothing
// fetched. With #selftest in the address it also writes what it drew into
// #selftest, for the browser test.
"use strict";
(function () {
  const errors = [];
  window.addEventListener("error", (e) => errors.push(String(e.message)));
  const T0 = performance.now();
  const $ = (id) => document.getElementById(id);
  const D = JSON.parse($("data").textContent);
  const M = D.msgs;
  const KIND = ["ok", "fail", "info"];
  const KIND_COLOUR = ["#2563eb", "#db2777", "#f59e0b"];
  const PALETTE = ["#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#ca8a04",
    "#db2777", "#4d7c0f", "#7c3aed", "#0f766e", "#b91c1c", "#475569"];
  const Q_COLOUR = { "0.5": "#1d4ed8", "0.95": "#7c3aed", "0.99": "#ea580c", "1": "#dc2626" };

  // A request and its reply share a colour; replies are drawn lighter.
  const bases = [];
  const typeColour = D.types.map((t) => {
    const b = t.replace(/_ok$/, "");
    let i = bases.indexOf(b);
    if (i < 0) { bases.push(b); i = bases.length - 1; }
    return PALETTE[i % PALETTE.length];
  });
  const isReply = D.types.map((t) => /_ok$/.test(t) || t === "error");

  // State: the diagram's window [a, b] in µs, filters, the marked moment.
  let win = D.window.slice();
  const hiddenTypes = new Set();
  let showClients = true;
  let laneFilter = null; // a RegExp over lane names, or null for all
  let highlight = null; // a RegExp over bodies, or null
  let marker = null;

  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  function fmtT(us, span) {
    const s = us / 1e6;
    const d = span < 2e4 ? 4 : span < 2e5 ? 3 : span < 2e6 ? 2 : 1;
    return s.toFixed(d) + " s";
  }
  function fmtMs(us) {
    const ms = us / 1e3;
    return (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)) + " ms";
  }
  function niceTicks(a, b, n) {
    const span = Math.max(b - a, 1e-9);
    const raw = span / n;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(a / step) * step; v <= b + 1e-9; v += step) out.push(v);
    return out;
  }
  const width = () => Math.max(640, $("plots").clientWidth || 1000);

  // ---- tooltip
  const tip = $("tip");
  function showTip(html, x, y) {
    tip.innerHTML = html;
    tip.hidden = false;
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.min(x + 14, window.innerWidth - w - 8) + "px";
    tip.style.top = (y + 16 + h > window.innerHeight ? Math.max(4, y - h - 10) : y + 16) + "px";
  }
  const hideTip = () => { tip.hidden = true; };

  // ---- plots against the whole run
  const L = 64, R = 16;
  let plotW = 1000;
  const X = (t) => L + (t / Math.max(D.end, 1)) * (plotW - L - R);
  const Tof = (x) => Math.max(0, Math.min(D.end, ((x - L) / (plotW - L - R)) * D.end));
  const plots = [];

  function faultRects(top, h) {
    return D.faults.map((f) => {
      const cls = /kill/.test(f[2]) ? "kill" : /pause/.test(f[2]) ? "pause" : /upgrade/.test(f[2]) ? "upgrade" : "";
      const w = Math.max(X(f[1]) - X(f[0]), 1.5);
      return `<rect class="fault ${cls}" x="${X(f[0])}" y="${top}" width="${w}" height="${h}"/>`;
    }).join("");
  }
  function timeAxis(y, withLabels) {
    let s = `<g class="axis"><line x1="${L}" x2="${plotW - R}" y1="${y}" y2="${y}"/>`;
    for (const t of niceTicks(0, D.end / 1e6, 10)) {
      const x = X(t * 1e6);
      s += `<line x1="${x}" x2="${x}" y1="${y}" y2="${y + 4}"/>`;
      if (withLabels) s += `<text x="${x}" y="${y + 15}" text-anchor="middle">${+t.toFixed(3)} s</text>`;
    }
    return s + "</g>";
  }

  function latencyPlot() {
    const H = 230, top = 18, bottom = H - 22;
    const ops = D.ops;
    const lats = ops.map((o) => o[1]).filter((v) => v > 0);
    const maxL = Math.max(1, ...ops.map((o) => o[1]));
    const minL = lats.length ? Math.min(...lats) : 1;
    const log = lats.length > 0 && maxL / minL > 20;
    const allZero = !ops.some((o) => o[1] > 0);
    const lo = log ? Math.pow(10, Math.floor(Math.log10(minL))) : 0;
    const hi = log ? Math.pow(10, Math.ceil(Math.log10(maxL))) : allZero ? 1000 : maxL * 1.08;
    const Y = (v) => log
      ? bottom - (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * (bottom - top)
      : bottom - (v - lo) / (hi - lo || 1) * (bottom - top);
    let s = `<svg class="plot" id="latency" width="${plotW}" height="${H}">`;
    s += faultRects(top, bottom - top);
    const ticks = log ? niceLogTicks(lo, hi) : niceTicks(0, hi, 5);
    s += '<g class="grid">' + ticks.map((v) => `<line x1="${L}" x2="${plotW - R}" y1="${Y(v)}" y2="${Y(v)}"/>`).join("") + "</g>";
    s += '<g class="axis">' + ticks.map((v) => `<text x="${L - 6}" y="${Y(v) + 4}" text-anchor="end">${fmtMs(v)}</text>`).join("") + "</g>";
    s += timeAxis(bottom, true);
    const note = allZero && ops.length ? " — every operation completed at once (replies to clients take no virtual time)" : log ? " (log scale)" : "";
    s += `<text class="title" x="${L}" y="12">latency of each operation, by invocation time${note}</text>`;
    const byF = colourBy === "f";
    s += '<g class="pts">';
    for (let i = 0; i < ops.length; i++) {
      const o = ops[i];
      const c = byF ? PALETTE[o[3] % PALETTE.length] : KIND_COLOUR[o[2]];
      s += `<circle class="pt" data-i="${i}" cx="${X(o[0]).toFixed(1)}" cy="${Y(o[1]).toFixed(1)}" r="${o[5] ? 3 : 2.2}" fill="${o[5] ? "none" : c}" stroke="${c}" stroke-width="${o[5] ? 1.2 : 0}" fill-opacity=".75"/>`;
    }
    s += "</g>";
    D.lines.forEach((line, qi) => {
      const q = String(D.qs[qi]);
      if (!line.length) return;
      const pts = line.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ");
      s += `<polyline points="${pts}" fill="none" stroke="${Q_COLOUR[q] || "#111"}" stroke-width="1.6" opacity=".9"/>`;
    });
    // Legend
    let lx = plotW - R - 8, legend = "";
    const items = [];
    if (byF) D.fs.forEach((f, i) => items.push([f, PALETTE[i % PALETTE.length], "dot"]));
    else KIND.forEach((k, i) => items.push([k, KIND_COLOUR[i], "dot"]));
    D.qs.forEach((q) => items.push(["q " + q, Q_COLOUR[String(q)], "line"]));
    for (let i = items.length - 1; i >= 0; i--) {
      const [name, c, kind] = items[i];
      const w = name.length * 6 + 18;
      lx -= w;
      legend += kind === "dot"
        ? `<circle cx="${lx + 5}" cy="9" r="3.5" fill="${c}"/>`
        : `<line x1="${lx}" x2="${lx + 11}" y1="9" y2="9" stroke="${c}" stroke-width="2"/>`;
      legend += `<text x="${lx + 14}" y="12">${esc(name)}</text>`;
    }
    s += `<g class="legend">${legend}</g>`;
    s += overlay(top, bottom) + "</svg>";
    return s;
  }
  function niceLogTicks(lo, hi) {
    const out = [];
    for (let v = lo; v <= hi * 1.0001; v *= 10) out.push(v);
    return out;
  }

  function ratePlot() {
    const H = 130, top = 18, bottom = H - 22;
    const maxR = Math.max(1, ...D.rate.map((r) => Math.max(r[0], r[1], r[2])));
    const Y = (v) => bottom - (v / (maxR * 1.1)) * (bottom - top);
    let s = `<svg class="plot" id="rate" width="${plotW}" height="${H}">`;
    s += faultRects(top, bottom - top);
    const ticks = niceTicks(0, maxR * 1.1, 3);
    s += '<g class="grid">' + ticks.map((v) => `<line x1="${L}" x2="${plotW - R}" y1="${Y(v)}" y2="${Y(v)}"/>`).join("") + "</g>";
    s += '<g class="axis">' + ticks.map((v) => `<text x="${L - 6}" y="${Y(v) + 4}" text-anchor="end">${+v.toFixed(1)}/s</text>`).join("") + "</g>";
    s += timeAxis(bottom, true);
    s += `<text class="title" x="${L}" y="12">completions per second, by outcome (buckets of ${fmtMs(D.dt)})</text>`;
    for (let k = 0; k < 3; k++) {
      if (!D.rate.some((r) => r[k] > 0)) continue;
      let d = "";
      D.rate.forEach((r, i) => {
        const x0 = X(i * D.dt), x1 = X(Math.min((i + 1) * D.dt, D.end));
        d += (i ? "L" : "M") + x0.toFixed(1) + " " + Y(r[k]).toFixed(1) + "L" + x1.toFixed(1) + " " + Y(r[k]).toFixed(1);
      });
      s += `<path d="${d}" fill="none" stroke="${KIND_COLOUR[k]}" stroke-width="1.6"/>`;
      s += `<text x="${plotW - R - 40 * (3 - k)}" y="12" fill="${KIND_COLOUR[k]}" style="fill:${KIND_COLOUR[k]}">${KIND[k]}</text>`;
    }
    s += overlay(top, bottom) + "</svg>";
    return s;
  }

  function faultPlot() {
    const H = D.faults.length ? 52 : 36, top = 16, bottom = H - 18;
    let s = `<svg class="plot" id="faults" width="${plotW}" height="${H}">`;
    s += `<text class="title" x="${L}" y="11">faults${D.faults.length ? "" : ": none in this run"}</text>`;
    D.faults.forEach((f, i) => {
      const cls = /kill/.test(f[2]) ? "kill" : /pause/.test(f[2]) ? "pause" : /upgrade/.test(f[2]) ? "upgrade" : "";
      const x = X(f[0]), w = Math.max(X(f[1]) - x, 2);
      s += `<g data-f="${i}"><rect class="faultbar ${cls}" x="${x}" y="${top}" width="${w}" height="${bottom - top}" rx="2"/>`;
      if (w > 40) s += `<text x="${x + 4}" y="${bottom - 4}" style="fill:#111827">${esc(f[3] || f[2])}</text>`;
      s += "</g>";
    });
    s += timeAxis(bottom, false) + overlay(top, bottom) + "</svg>";
    return s;
  }

  // The diagram's window and the marked moment, over every plot.
  function overlay(top, bottom) {
    let s = `<rect class="winrect" x="${X(win[0])}" y="${top}" width="${Math.max(X(win[1]) - X(win[0]), 1.5)}" height="${bottom - top}"/>`;
    if (marker !== null) s += `<line class="marker" x1="${X(marker)}" x2="${X(marker)}" y1="${top}" y2="${bottom}"/>`;
    return `<g class="overlay">${s}</g>`;
  }

  function drawPlots() {
    plotW = width();
    $("plots").innerHTML =
      `<div class="legend" style="margin:2px 0 0 ${L}px">colour points by <select id="colourBy"><option value="kind">outcome</option><option value="f">operation</option></select> · hollow points: final reads</div>` +
      latencyPlot() + ratePlot() + faultPlot();
    $("colourBy").value = colourBy;
    $("colourBy").onchange = (e) => { colourBy = e.target.value; drawPlots(); };
    for (const svg of $("plots").querySelectorAll("svg")) brush(svg);
  }
  let colourBy = "kind";
  function redrawOverlays() {
    for (const svg of $("plots").querySelectorAll("svg")) {
      const g = svg.querySelector(".overlay");
      const r = g.querySelector(".winrect");
      g.outerHTML = overlay(+r.getAttribute("y"), +r.getAttribute("y") + +r.getAttribute("height"));
    }
  }

  // Drag across a plot: that stretch becomes the window; a click centres it.
  function brush(svg) {
    let from = null;
    svg.addEventListener("mousedown", (e) => {
      from = e.clientX - svg.getBoundingClientRect().left;
      e.preventDefault();
    });
    svg.addEventListener("mousemove", (e) => {
      const x = e.clientX - svg.getBoundingClientRect().left;
      if (from !== null && Math.abs(x - from) > 3) {
        const a = Tof(Math.min(x, from)), b = Tof(Math.max(x, from));
        setWindow(a, b, false);
        return;
      }
      if (from === null) hover(svg, e);
    });
    svg.addEventListener("mouseleave", hideTip);
    window.addEventListener("mouseup", (e) => {
      if (from === null) return;
      const x = e.clientX - svg.getBoundingClientRect().left;
      if (Math.abs(x - from) <= 3) {
        const t = Tof(x), w = win[1] - win[0];
        setWindow(t - w / 2, t + w / 2, true);
      } else drawDiagram();
      from = null;
    });
  }
  function hover(svg, e) {
    const t = e.target;
    if (t.classList && t.classList.contains("pt")) {
      const o = D.ops[+t.dataset.i];
      showTip(`<b>${esc(D.fs[o[3]])}</b> ${KIND[o[2]]}${o[5] ? " (final)" : ""} · ${esc(D.lanes[o[4]] ? D.lanes[o[4]][0] : "")}<br>invoked ${fmtT(o[0], 1e6)} · latency ${fmtMs(o[1])}`, e.clientX, e.clientY);
      return;
    }
    const g = t.closest && t.closest("[data-f]");
    if (g) {
      const f = D.faults[+g.dataset.f];
      showTip(`<b>${esc(f[2])}</b> ${esc(f[3])}<br>${fmtT(f[0], 1e6)} – ${fmtT(f[1], 1e6)}<pre>${esc(f[4])}</pre>`, e.clientX, e.clientY);
      return;
    }
    hideTip();
  }

  // ---- the Lamport diagram
  const LANE_LABEL = 110;
  let drawn = []; // [message index, x1, y1, x2, y2] of each arrow drawn
  function visibleLanes() {
    const out = [];
    D.lanes.forEach((l, i) => { if (showClients || l[1] !== 2) out.push(i); });
    return out;
  }
  function passes(m) {
    if (hiddenTypes.has(m[4])) return false;
    const ls = D.lanes[m[2]], ld = D.lanes[m[3]];
    if (!showClients && (ls[1] === 2 || ld[1] === 2)) return false;
    if (laneFilter && !laneFilter.test(ls[0]) && !laneFilter.test(ld[0])) return false;
    return true;
  }
  function inWindow(m) {
    const arrived = m[1] < 0 ? D.end : m[1];
    return m[0] <= win[1] && arrived >= win[0];
  }
  function bodyText(m) {
    return typeof m[6] === "string" ? m[6] : JSON.stringify(m[6]);
  }

  function drawDiagram() {
    const lanes = visibleLanes();
    const row = new Map(lanes.map((l, k) => [l, k]));
    const W = Math.max(640, ($("diagram").clientWidth || width()) - 2);
    const lh = Math.max(10, Math.min(24, Math.floor(560 / Math.max(lanes.length, 1))));
    const top = 26, H = top + lanes.length * lh + 8;
    const x0 = LANE_LABEL, x1 = W - 12;
    const span = Math.max(win[1] - win[0], 1);
    const XD = (t) => x0 + ((t - win[0]) / span) * (x1 - x0);
    const YD = (l) => top + row.get(l) * lh + lh / 2;
    let s = `<svg id="lamport" width="${W}" height="${H}"><defs><clipPath id="clip"><rect x="${x0}" y="0" width="${x1 - x0}" height="${H}"/></clipPath></defs>`;
    lanes.forEach((l) => {
      const kind = ["node", "service", "client"][D.lanes[l][1]];
      s += `<line class="lane ${kind}" x1="${x0}" x2="${x1}" y1="${YD(l)}" y2="${YD(l)}"/>`;
      s += `<text class="lanelabel ${kind}" x="${x0 - 6}" y="${YD(l) + 3.5}" text-anchor="end">${esc(D.lanes[l][0])}</text>`;
    });
    s += '<g class="axis">';
    for (const t of niceTicks(win[0], win[1], 8)) {
      const x = XD(t);
      s += `<line x1="${x}" x2="${x}" y1="${top - 6}" y2="${H - 6}" style="stroke:#f1f5f9"/><text x="${x}" y="${top - 10}" text-anchor="middle">${fmtT(t, span)}</text>`;
    }
    s += "</g>";
    for (const f of D.faults) {
      if (f[1] < win[0] || f[0] > win[1]) continue;
      const a = Math.max(XD(f[0]), x0), b = Math.min(XD(f[1]), x1);
      s += `<rect class="fault" x="${a}" y="${top}" width="${Math.max(b - a, 1.5)}" height="${H - top - 8}"/>`;
    }
    drawn = [];
    let paths = "";
    for (let i = 0; i < M.length; i++) {
      const m = M[i];
      if (!inWindow(m) || !passes(m)) continue;
      const xs = XD(m[0]), ys = YD(m[2]);
      const xe = XD(m[1] < 0 ? D.end : m[1]), ye = YD(m[3]);
      drawn.push([i, xs, ys, xe, ye]);
      let d = `M${xs.toFixed(1)} ${ys.toFixed(1)}L${xe.toFixed(1)} ${ye.toFixed(1)}`;
      if (m[5] === 1) {
        // Dropped: a cross where it would have arrived.
        d += `M${(xe - 3.5).toFixed(1)} ${(ye - 3.5).toFixed(1)}l7 7m0 -7l-7 7`;
      } else if (m[5] === 0) {
        const dx = xe - xs, dy = ye - ys, len = Math.hypot(dx, dy) || 1;
        const ux = dx / len, uy = dy / len, k = 5.5;
        d += `M${(xe - k * ux + k * 0.45 * uy).toFixed(1)} ${(ye - k * uy - k * 0.45 * ux).toFixed(1)}L${xe.toFixed(1)} ${ye.toFixed(1)}L${(xe - k * ux - k * 0.45 * uy).toFixed(1)} ${(ye - k * uy + k * 0.45 * ux).toFixed(1)}`;
      }
      const lit = highlight && highlight.test(bodyText(m)) ? " lit" : "";
      const cls = "m" + (m[5] === 1 ? " drop" : "") + lit;
      const op = isReply[m[4]] ? ' stroke-opacity=".6"' : "";
      paths += `<path class="${cls}" data-i="${i}" d="${d}" stroke="${typeColour[m[4]]}"${op}${m[5] === 2 ? ' stroke-dasharray="1 3"' : ""}/>`;
    }
    s += `<g clip-path="url(#clip)" class="${highlight ? "dim" : ""}">${paths}`;
    if (marker !== null && marker >= win[0] && marker <= win[1]) {
      s += `<line class="marker" x1="${XD(marker)}" x2="${XD(marker)}" y1="${top - 4}" y2="${H - 6}"/>`;
    }
    s += "</g></svg>";
    $("diagram").innerHTML = s;
    $("winlabel").textContent = `${fmtT(win[0], span)} – ${fmtT(win[1], span)} (${fmtMs(span)}) · ${drawn.length} arrows`;
    diagramEvents($("lamport"), XD, x0, x1);
  }

  // The arrow nearest the pointer, within 6 px.
  function nearest(x, y) {
    let best = null, bd = 36;
    for (const a of drawn) {
      const [, xs, ys, xe, ye] = a;
      const dx = xe - xs, dy = ye - ys, l2 = dx * dx + dy * dy;
      const t = l2 ? Math.max(0, Math.min(1, ((x - xs) * dx + (y - ys) * dy) / l2)) : 0;
      const px = xs + t * dx - x, py = ys + t * dy - y, d = px * px + py * py;
      if (d < bd) { bd = d; best = a; }
    }
    return best;
  }
  let hot = null;
  function diagramEvents(svg, XD, x0, x1) {
    let drag = null;
    svg.addEventListener("mousemove", (e) => {
      const r = svg.getBoundingClientRect();
      const x = e.clientX - r.left, y = e.clientY - r.top;
      if (drag) {
        const dt = ((drag.x - x) / (x1 - x0)) * (drag.win[1] - drag.win[0]);
        setWindow(drag.win[0] + dt, drag.win[1] + dt, false);
        return;
      }
      const a = nearest(x, y);
      if (hot) hot.classList.remove("hot");
      hot = null;
      if (!a) { hideTip(); return; }
      hot = svg.querySelector(`path[data-i="${a[0]}"]`);
      if (hot) hot.classList.add("hot");
      const m = M[a[0]];
      const fate = ["delivered", "dropped by a partition", "still in flight at the end"][m[5]];
      const arrived = m[1] < 0 ? "" : ` → ${fmtT(m[1], 1e3)} (${fmtMs(m[1] - m[0])})`;
      let body = typeof m[6] === "string" ? m[6] : JSON.stringify(m[6], null, 1).replace(/\n\s*/g, " ");
      // Clients sharing a lane: the message names its own.
      const who = (l) => D.lanes[l][1] === 2 && m.length > 7 ? "c" + m[7] : D.lanes[l][0];
      showTip(`<b>${esc(who(m[2]))} → ${esc(who(m[3]))}</b> ${esc(D.types[m[4]])} · ${fate}<br>sent ${fmtT(m[0], 1e3)}${arrived}<pre>${esc(body)}</pre>`, e.clientX, e.clientY);
    });
    svg.addEventListener("mouseleave", () => { hideTip(); if (hot) hot.classList.remove("hot"); });
    svg.addEventListener("mousedown", (e) => {
      drag = { x: e.clientX - svg.getBoundingClientRect().left, win: win.slice() };
      svg.style.cursor = "grabbing";
      e.preventDefault();
    });
    const up = () => {
      if (!drag) return;
      drag = null;
      window.removeEventListener("mouseup", up);
      drawDiagram();
    };
    window.addEventListener("mouseup", up);
    svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = svg.getBoundingClientRect();
      const x = Math.max(x0, Math.min(x1, e.clientX - r.left));
      const t = win[0] + ((x - x0) / (x1 - x0)) * (win[1] - win[0]);
      zoom(e.deltaY > 0 ? 1.25 : 0.8, t);
    }, { passive: false });
  }

  let pending = false;
  function setWindow(a, b, now) {
    const w = Math.min(Math.max(b - a, 100), Math.max(D.end, 100));
    a = Math.max(0, Math.min(a, D.end - Math.min(w, D.end)));
    win = [Math.round(a), Math.round(a + w)];
    redrawOverlays();
    if (now) drawDiagram();
    else if (!pending) {
      pending = true;
      requestAnimationFrame(() => { pending = false; drawDiagram(); });
    }
  }
  function zoom(factor, at) {
    const a = at - (at - win[0]) * factor, b = at + (win[1] - at) * factor;
    setWindow(a, b, true);
  }

  function controls() {
    const c = $("controls");
    let types = D.types.map((t, i) =>
      `<label data-type="${i}"><input type="checkbox" checked hidden><span class="sw" style="background:${typeColour[i]};opacity:${isReply[i] ? 0.6 : 1}"></span>${esc(t)}</label>`).join("");
    c.innerHTML =
      `<span><button id="left" title="earlier">◀</button> <button id="right" title="later">▶</button> ` +
      `<button id="out" title="zoom out">−</button> <button id="in" title="zoom in">+</button> <button id="all" title="the whole run">all</button></span>` +
      `<span id="winlabel"></span>` +
      `<label><input type="checkbox" id="clients" checked> clients</label>` +
      `<label>lanes <input type="text" id="lanes" placeholder="n1 n2 (or a pattern)"></label>` +
      `<label>highlight <input type="text" id="find" placeholder="text in bodies, e.g. 17"></label>` +
      `<span class="types" title="click a type to hide or show it">${types}</span>`;
    const w = () => win[1] - win[0];
    $("left").onclick = () => setWindow(win[0] - w() * 0.8, win[1] - w() * 0.8, true);
    $("right").onclick = () => setWindow(win[0] + w() * 0.8, win[1] + w() * 0.8, true);
    $("in").onclick = () => zoom(0.5, (win[0] + win[1]) / 2);
    $("out").onclick = () => zoom(2, (win[0] + win[1]) / 2);
    $("all").onclick = () => setWindow(0, D.end, true);
    $("clients").onchange = (e) => { showClients = e.target.checked; drawDiagram(); };
    $("lanes").oninput = (e) => {
      const words = e.target.value.trim().split(/[\s,]+/).filter(Boolean);
      try {
        laneFilter = words.length ? new RegExp("^(" + words.join("|") + ")$") : null;
      } catch (_) { laneFilter = null; }
      drawDiagram();
    };
    $("find").oninput = (e) => {
      const v = e.target.value.trim();
      const q = v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      // A number matches as a whole number, not inside another nor as a message id.
      highlight = !v ? null : new RegExp(/^\d+$/.test(v)
        ? '(?<!"(?:msg_id|in_reply_to)":)(?<![0-9.])' + q + "(?![0-9.])"
        : q);
      drawDiagram();
    };
    for (const l of c.querySelectorAll("[data-type]")) {
      l.onclick = (e) => {
        e.preventDefault();
        const i = +l.dataset.type;
        if (hiddenTypes.has(i)) hiddenTypes.delete(i); else hiddenTypes.add(i);
        l.classList.toggle("off", hiddenTypes.has(i));
        drawDiagram();
      };
    }
  }

  // A reason's moment: mark it, centre the window on it, show the diagram.
  function goTo(t) {
    marker = t;
    const w = Math.min(D.window[1] - D.window[0], win[1] - win[0]);
    setWindow(t - w / 2, t + w / 2, true);
    // A value the reason names is highlighted in the bodies.
    $("messages").scrollIntoView({ behavior: "smooth", block: "start" });
  }
  for (const a of document.querySelectorAll("a.moment")) {
    a.addEventListener("click", (e) => {
      e.preventDefault();
      const li = a.closest("li");
      const v = li && /value (\d+)/.exec(li.textContent);
      if (v) { $("find").value = v[1]; $("find").dispatchEvent(new Event("input")); }
      goTo(+a.dataset.t);
    });
  }
  $("copy").onclick = () => {
    const text = $("command").textContent;
    if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
  };

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { drawPlots(); drawDiagram(); }, 150);
  });

  try {
    controls();
    drawPlots();
    drawDiagram();
  } catch (e) {
    errors.push(String(e && e.stack || e));
  }
  const renderMs = performance.now() - T0;
  // An address ending in #at-<µs> (a reason's link) opens at that moment.
  const at = /^#at-(\d+)/.exec(location.hash);
  if (at) {
    const link = document.querySelector(`a.moment[data-t="${at[1]}"]`);
    if (link) link.click(); else goTo(+at[1]);
  }

  if (/selftest/.test(location.hash)) {
    const out = { errors, renderMs, window: win, messages: M.length, ops: D.ops.length };
    try {
      out.arrows = document.querySelectorAll("#lamport path.m").length;
      out.expected = M.filter((m) => inWindow(m) && passes(m)).length;
      out.points = document.querySelectorAll("#latency circle.pt").length;
      out.lines = document.querySelectorAll("#latency polyline").length;
      out.faults = document.querySelectorAll("#faults .faultbar").length;
      out.lanes = document.querySelectorAll("#lamport .lanelabel").length;
      // Hover the middle of the first arrow as a pointer would.
      const a = drawn[0];
      if (a) {
        const r = $("lamport").getBoundingClientRect();
        const x = r.left + (a[1] + a[3]) / 2, y = r.top + (a[2] + a[4]) / 2;
        $("lamport").dispatchEvent(new MouseEvent("mousemove", { clientX: x, clientY: y, bubbles: true }));
        out.hoverIndex = hot ? +hot.dataset.i : null;
        out.hover = tip.hidden ? "" : tip.textContent;
        out.hoverBody = tip.hidden ? "" : tip.querySelector("pre").textContent;
        hideTip();
      }
      // Follow a reason's first moment, as a reader clicking it would.
      const link = document.querySelector("a.moment");
      if (link) {
        link.click();
        out.moment = {
          t: +link.dataset.t, window: win.slice(), marker,
          lit: document.querySelectorAll("#lamport path.m.lit").length,
        };
      }
    } catch (e) {
      errors.push(String(e && e.stack || e));
    }
    $("selftest").textContent = JSON.stringify(out);
  }
})();
