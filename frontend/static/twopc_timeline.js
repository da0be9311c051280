// The order's two-phase commit as a timeline (docs/drawings.md): lanes for the Raft log, the coordinator (the
// executor leader) and each participant; one row per step in time order, with its time since the first step.
// Prepare, votes (with reasons), the decision with the Raft term and index it was logged at, phase 2 and the
// acknowledgements, retries and a new leader's recovery. Inline SVG; every mark is labelled in words.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 360;
const TOP = 34;
const ROW = 30;
const LANES = [
  { id: "log", label: "Raft log", x: 78 },
  { id: "coordinator", label: "coordinator", x: 160 },
  { id: "payment_service", label: "payment", x: 248 },
  { id: "books_database", label: "books", x: 326 },
];
const X = Object.fromEntries(LANES.map((lane) => [lane.id, lane.x]));

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

function clip(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** What one step says, in words: the same text labels the drawing and fills the table. */
export function describe(step) {
  const who = step.participant ?? "";
  switch (step.kind) {
    case "begin_logged": return `BEGIN logged at index ${step.index} (term ${step.term})`;
    case "prepare_sent": return `Prepare → ${who}`;
    case "vote": return `${who} votes ${step.ok ? "YES (commit)" : "NO (abort)"}${step.detail ? `: ${step.detail}` : ""}`;
    case "decision_logged": return `Decision ${step.detail} logged at index ${step.index}, term ${step.term}`;
    case "recovery": return `Recovery by ${step.node} (term ${step.term}): ${step.detail}`;
    case "phase2_sent": return `${step.detail} → ${who}`;
    case "retry": return `Retry ${step.round}: ${step.detail} → ${who}`;
    case "ack": return step.ok ? `${who} acknowledges` : `${who} did not acknowledge (${step.detail})`;
    case "end_logged": return `END logged at index ${step.index}: every participant acknowledged`;
    default: return step.kind;
  }
}

function arrow(x1, x2, y, className, text, above = true) {
  const direction = x2 > x1 ? 1 : -1;
  return [
    svg("line", { x1: x1 + direction * 6, y1: y, x2: x2 - direction * 6, y2: y, class: className, "marker-end": "url(#twopc-arrowhead)" }),
    svg("text", { x: (x1 + x2) / 2, y: above ? y - 4 : y + 11, "text-anchor": "middle", class: "step-label" }, text),
  ];
}

function mark(step, y) {
  const p = X[step.participant] ?? X.books_database;
  const c = X.coordinator;
  switch (step.kind) {
    case "begin_logged":
    case "decision_logged":
    case "end_logged": {
      const word = step.kind === "begin_logged" ? "BEGIN" : step.kind === "end_logged" ? "END" : clip(String(step.detail).split(":")[0], 8);
      return [
        svg("rect", { x: X.log - 30, y: y - 10, width: 60, height: 20, rx: 3, class: `log-entry ${step.kind}` }),
        svg("text", { x: X.log, y: y + 4, "text-anchor": "middle", class: "log-entry-label" }, word),
        svg("text", { x: X.log + 34, y: y + 4, class: "step-label" }, `i${step.index ?? "?"} t${step.term ?? "?"}`),
      ];
    }
    case "prepare_sent": return arrow(c, p, y, "message prepare", "Prepare");
    case "vote": return arrow(p, c, y, `message vote ${step.ok ? "yes" : "no"}`, step.ok ? "YES" : "NO ✕");
    case "phase2_sent": return arrow(c, p, y, "message phase2", step.detail);
    case "retry": return arrow(c, p, y, "message retry", `retry ${step.round}`);
    case "ack": return arrow(p, c, y, `message ack ${step.ok ? "yes" : "no"}`, step.ok ? "ack" : "no ack ✕");
    case "recovery": return [
      svg("rect", { x: 40, y: y - 11, width: WIDTH - 44, height: 22, class: "recovery-band" }),
      svg("text", { x: 46, y: y + 4, class: "step-label" }, clip(`↻ recovery by ${step.node}, term ${step.term}`, 48)),
    ];
    default: return [];
  }
}

export function twoPcTimeline(timeline) {
  const steps = timeline.steps ?? [];
  const origin = steps.length ? Math.min(...steps.map((s) => s.at)) : 0;
  const height = TOP + steps.length * ROW + 8;
  const leaders = [...new Set(steps.filter((s) => !["begin_logged", "decision_logged", "end_logged"].includes(s.kind)).map((s) => s.node))];
  const drawing = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${height}`, class: "twopc", id: "twopc-svg", role: "img", "aria-labelledby": "twopc-title",
  },
  svg("title", { id: "twopc-title" }, `The order's two-phase commit: ${steps.length} steps`),
  svg("defs", {}, svg("marker", {
    id: "twopc-arrowhead", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
  }, svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))),
  LANES.map((lane) => svg("g", { class: "lane" },
    svg("text", { x: lane.x, y: 14, "text-anchor": "middle", class: "lane-label" }, lane.label),
    svg("line", { x1: lane.x, y1: 22, x2: lane.x, y2: height - 4, class: "lane-line" }))),
  steps.map((step, i) => {
    const y = TOP + i * ROW + 10;
    return svg("g", {
      class: `step ${step.kind}`, "data-kind": step.kind, "data-participant": step.participant ?? null,
      "data-ok": String(step.ok), "data-term": step.term ?? null, "data-index": step.index ?? null,
    },
    svg("title", {}, describe(step)),
    svg("text", { x: 2, y: y + 4, class: "step-time" }, `+${Math.round((step.at - origin) * 1000)} ms`),
    mark(step, y));
  }));

  const decision = steps.find((s) => s.kind === "decision_logged");
  const noVote = steps.find((s) => s.kind === "vote" && !s.ok);
  const recovered = steps.find((s) => s.kind === "recovery");
  const unreachable = (timeline.replicas ?? []).filter((r) => r.status !== "answered").map((r) => r.id);
  return h("figure", { class: "drawing", id: "twopc-timeline" },
    h("figcaption", {}, "How the order's two-phase commit ran: the executor leader (coordinator), its Raft log and the participants (time runs down)."),
    decision ? h("p", { class: "twopc-decision", id: "twopc-decision" },
      `Decision: ${decision.detail} — logged at Raft index ${decision.index}, term ${decision.term}`,
      decision.appliedBy?.length ? ` (applied by ${decision.appliedBy.join(", ")})` : "") : null,
    noVote ? h("p", { class: "twopc-no-vote", id: "twopc-no-vote" }, `✕ ${describe(noVote)}`) : null,
    recovered ? h("p", { class: "twopc-recovery" }, `↻ ${describe(recovered)}`) : null,
    leaders.length ? h("p", { class: "hint" }, `Coordinator: ${leaders.join(" then ")}`) : null,
    unreachable.length ? h("p", { class: "hint" }, `Not answering: ${unreachable.join(", ")} (its part may be missing)`) : null,
    h("div", { class: "drawing-scroll" }, drawing),
    h("details", { class: "drawing-table" },
      h("summary", {}, "The steps as a list"),
      h("ol", { class: "twopc-steps" }, steps.map((step) => h("li", { dataset: { kind: step.kind } },
        `+${Math.round((step.at - origin) * 1000)} ms · ${step.node} · ${describe(step)}`)))));
}
