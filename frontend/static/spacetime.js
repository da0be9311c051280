// The order's validation flow as a space-time diagram (docs/drawings.md): one lane per service, time downwards,
// each event placed by its vector clock, hand-offs as arrows, a held event drawn waiting, the failing one marked.
// Inline SVG built with DOM calls (no library, no innerHTML); every mark has a text label, so no colour is needed.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 360; // viewBox units; the drawing scales to the width it is given (a phone's 375 px included)
const TOP = 34;
const ROW = 44;
const LANE_X0 = 45;
const LANE_DX = 90;
const SHORT = {
  VerifyItems: "items", VerifyUserData: "user data", VerifyCreditCardFormat: "card format",
  CheckUserData: "user data", CheckCreditCardData: "card", GetSuggestions: "suggestions",
  InitOrder: "init", Start: "start", Outcome: "outcome",
};
const INITIALS = { transaction_verification: "TV", fraud_detection: "FD", suggestions: "S", orchestrator: "GW" };

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** a < b in the vector-clock order: every counter of a ≤ b's and one is smaller. */
export function happenedBefore(a, b) {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  let smaller = false;
  for (const name of names) {
    const x = a[name] ?? 0;
    const y = b[name] ?? 0;
    if (x > y) return false;
    if (x < y) smaller = true;
  }
  return smaller;
}

export function clockText(clock) {
  const entries = Object.entries(clock ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([name, n]) => `${INITIALS[name] ?? name}:${n}`).join(" ") : "{}";
}

function key(service, event) { return `${service}/${event}`; }

/**
 * Each event's row: 1 + the largest row of anything that happened before it (by clocks, or by a message to it).
 * So a row never comes before a row that happened before it, and concurrent events may share a row.
 */
export function causalRows(events, messages) {
  const senders = new Map();
  for (const m of messages) {
    const to = key(m.to.service, m.to.event);
    senders.set(to, [...(senders.get(to) ?? []), key(m.from.service, m.from.event)]);
  }
  const byKey = new Map(events.map((e) => [key(e.service, e.event), e]));
  const rows = new Map();
  const visiting = new Set();
  const rowOf = (e) => {
    const k = key(e.service, e.event);
    if (rows.has(k)) return rows.get(k);
    if (visiting.has(k)) return 0; // a cycle cannot come from real clocks; guard anyway
    visiting.add(k);
    let row = 0;
    for (const other of events) {
      if (other !== e && happenedBefore(other.clock, e.clock)) row = Math.max(row, rowOf(other) + 1);
      // Same lane, equal clocks (a failure drawn at its service's last stamp): after, by the service's own order.
      else if (other !== e && other.service === e.service && events.indexOf(other) < events.indexOf(e)
        && clockText(other.clock) === clockText(e.clock)) row = Math.max(row, rowOf(other) + 1);
    }
    for (const from of senders.get(k) ?? []) {
      if (byKey.has(from)) row = Math.max(row, rowOf(byKey.get(from)) + 1);
    }
    visiting.delete(k);
    rows.set(k, row);
    return row;
  };
  for (const e of events) rowOf(e);
  return rows;
}

function ms(seconds, origin) {
  return `${Math.round((seconds - origin) * 1000)} ms`;
}

/** The diagram and, under it, the same facts as a table (for screen readers and small print). */
export function spaceTimeDiagram(trace) {
  const lanes = trace.lanes ?? [];
  const events = trace.events ?? [];
  const messages = trace.messages ?? [];
  const laneX = new Map(lanes.map((lane, i) => [lane.service, LANE_X0 + i * LANE_DX]));
  const rows = causalRows(events, messages);
  const rowCount = Math.max(0, ...rows.values()) + 1;
  const height = TOP + rowCount * ROW + 10;
  const point = (e) => ({ x: laneX.get(e.service) ?? 0, y: TOP + rows.get(key(e.service, e.event)) * ROW + 12 });
  const origin = Math.min(...events.map((e) => e.at).filter((t) => typeof t === "number"), Infinity);
  const byKey = new Map(events.map((e) => [key(e.service, e.event), e]));
  const failing = events.find((e) => !e.passed);

  const drawing = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${height}`, class: "spacetime", id: "spacetime", role: "img",
    "aria-labelledby": "spacetime-title spacetime-desc",
  },
  svg("title", { id: "spacetime-title" }, "The validation flow as a space-time diagram"),
  svg("desc", { id: "spacetime-desc" },
    `${events.length} events on ${lanes.length} lanes, placed by their vector clocks; arrows are messages.`),
  svg("defs", {}, svg("marker", {
    id: "arrowhead", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
  }, svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))),
  lanes.map((lane) => svg("g", { class: "lane" },
    svg("text", { x: laneX.get(lane.service), y: 14, "text-anchor": "middle", class: "lane-label" }, lane.label),
    svg("line", { x1: laneX.get(lane.service), y1: 22, x2: laneX.get(lane.service), y2: height - 4, class: "lane-line" }))),
  messages.map((m) => {
    const from = byKey.get(key(m.from.service, m.from.event));
    const to = byKey.get(key(m.to.service, m.to.event));
    if (!from || !to) return null;
    const a = point(from);
    const b = point(to);
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const length = Math.hypot(dx, dy) || 1;
    const r = 9; // stop at the circles' edges
    return svg("line", {
      x1: a.x + (dx / length) * r, y1: a.y + (dy / length) * r, x2: b.x - (dx / length) * r, y2: b.y - (dy / length) * r,
      class: "message", "marker-end": "url(#arrowhead)",
      "data-from": key(m.from.service, m.from.event), "data-to": key(m.to.service, m.to.event),
    });
  }),
  events.map((e) => {
    const { x, y } = point(e);
    const label = e.letter ? `${e.letter} ${SHORT[e.event] ?? e.event}` : SHORT[e.event] ?? e.event;
    const waited = e.held && e.arrivedAt && e.ranAt ? Math.max(0, Math.round((e.ranAt - e.arrivedAt) * 1000)) : null;
    const kind = !e.passed ? "failed" : e.held ? "held" : "ran";
    const marks = [];
    if (e.held) {
      // Drawn as waiting: a dashed stretch of the lane above the event, with an hourglass and the wait.
      marks.push(svg("line", { x1: x, y1: y - ROW + 14, x2: x, y2: y - 9, class: "held-wait" }));
      // An hourglass drawn, not a glyph: every font has lines.
      marks.push(svg("path", { d: `M${x - 20},${y - 22} h8 l-8,9 h8 z`, class: "hourglass" }));
      marks.push(svg("text", { x: x - 23, y: y - 14, "text-anchor": "end", class: "event-note" },
        `held${waited !== null ? ` ${waited} ms` : ""}`));
    }
    if (e.passed) {
      marks.push(svg("circle", { cx: x, cy: y, r: 8, class: `event-mark ${kind}` }));
      if (e.letter) marks.push(svg("text", { x, y: y + 4, "text-anchor": "middle", class: "event-letter" }, e.letter));
    } else {
      marks.push(svg("rect", { x: x - 8, y: y - 8, width: 16, height: 16, class: "event-mark failed" }));
      marks.push(svg("path", { d: `M${x - 5},${y - 5} L${x + 5},${y + 5} M${x + 5},${y - 5} L${x - 5},${y + 5}`, class: "failed-cross" }));
    }
    const rightSide = x < WIDTH - 60;
    marks.push(svg("text", { x: rightSide ? x + 11 : x - 11, y: y - 1, "text-anchor": rightSide ? "start" : "end", class: "event-label" },
      e.passed ? label : `${label}: FAILED`));
    marks.push(svg("text", { x: rightSide ? x + 11 : x - 11, y: y + 10, "text-anchor": rightSide ? "start" : "end", class: "event-clock" },
      clockText(e.clock)));
    return svg("g", {
      class: `event ${kind}`, "data-service": e.service, "data-event": e.event, "data-letter": e.letter || null,
      "data-clock": JSON.stringify(e.clock ?? {}), "data-row": rows.get(key(e.service, e.event)), "data-y": y,
    }, svg("title", {}, `${e.event} on ${e.service}, clock ${clockText(e.clock)}${e.passed ? "" : `, failed: ${(e.reasons ?? []).join("; ")}`}`), marks);
  }));

  return h("figure", { class: "drawing", id: "flow-diagram" },
    h("figcaption", {}, "How the validation flow ran: each service's events, ordered by vector clocks (time runs down)."),
    h("div", { class: "drawing-scroll" }, drawing),
    failing ? h("p", { class: "failing-event", id: "failing-event" },
      `✕ Stopped at ${failing.letter ? `${failing.letter} ` : ""}${failing.event} on ${failing.service}: ${(failing.reasons ?? []).join("; ")}`) : null,
    h("p", { class: "legend" }, "○ ran · dashed circle, dashed lane and hourglass: held (it arrived before its predecessors and waited) · ✕ failed · → message"),
    h("details", { class: "drawing-table" },
      h("summary", {}, "The events as a table"),
      h("div", { class: "table-scroll" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Event", "Service", "Vector clock", "At", "Note"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, events.map((e) => h("tr", { dataset: { event: e.event } },
          h("td", {}, e.letter ? `${e.letter} ${e.event}` : e.event),
          h("td", {}, INITIALS[e.service] ?? e.service),
          h("td", {}, clockText(e.clock)),
          h("td", {}, Number.isFinite(origin) ? ms(e.at, origin) : ""),
          h("td", {}, !e.passed ? `failed: ${(e.reasons ?? []).join("; ")}`
            : e.held && e.arrivedAt && e.ranAt ? `held ${Math.round((e.ranAt - e.arrivedAt) * 1000)} ms` : ""))))))));
}
