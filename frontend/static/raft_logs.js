// The Cluster tab's drawing of one Raft group: each replica's log tail as a strip of entries (coloured by term AND
// labelled with it, so it reads without colour), its commit and applied markers, the leader's match index per
// follower, and the group's election history (term, winner, when, why). Pure DOM from data (docs/watching.md).

import { formatTime, h } from "./dom.js";

export const CELLS_MAX = 64; // the replicas report at most 64 entries each

const WHY = {
  timeout: "election timeout",
  "pre-vote": "election timeout, won a pre-vote first",
  transfer: "leadership transfer",
};

/** A term's colour class: 8 hues in turn; the label carries the term anyway. */
export function termClass(term) {
  return `term-${((Number(term) % 8) + 8) % 8}`;
}

/** The index window the strips share: the newest CELLS_MAX indexes any replica holds. */
export function indexWindow(replicas) {
  const last = Math.max(0, ...replicas.map((r) => r.logTail.at(-1)?.index ?? r.lastIndex ?? 0));
  const first = Math.max(1, last - CELLS_MAX + 1);
  return { first, last };
}

function markers(index, replica, matched) {
  const marks = [];
  if (index === replica.commitIndex) marks.push(h("span", { class: "mark mark-commit", title: "commit index" }, "C"));
  if (index === replica.appliedIndex) marks.push(h("span", { class: "mark mark-applied", title: "applied index" }, "A"));
  if (index === matched) marks.push(h("span", { class: "mark mark-match", title: "leader's match index" }, "M"));
  return marks;
}

function cell(index, entry, replica, matched) {
  if (!entry) {
    return h("li", { class: "entry missing", "aria-label": `index ${index}: not held` }, h("span", { class: "t" }, "·"));
  }
  const committed = replica.commitIndex !== null && index <= replica.commitIndex;
  const words = [`index ${index}`, `term ${entry.term}`, entry.kind === "noop" ? "leader's no-op" : "command",
    committed ? "committed" : "not committed yet"];
  if (index === replica.appliedIndex) words.push("last applied");
  if (index === matched) words.push("leader's match index for this follower");
  return h("li", {
    class: `entry ${termClass(entry.term)}${committed ? " committed" : " uncommitted"}${entry.kind === "noop" ? " noop" : ""}`,
    dataset: { index: String(index), term: String(entry.term) },
    title: words.join(", "),
    "aria-label": words.join(", "),
  },
  h("span", { class: "t" }, entry.kind === "noop" ? `${entry.term}∅` : String(entry.term)),
  markers(index, replica, matched));
}

/** One replica's strip over the shared window. `matched`: the leader's match index for it, if a follower. */
export function logStrip(replica, window, matched) {
  const byIndex = new Map(replica.logTail.map((e) => [e.index, e]));
  const cells = [];
  if (replica.role !== "unreachable") {
    for (let index = window.first; index <= window.last; index += 1) cells.push(cell(index, byIndex.get(index), replica, matched));
  }
  const facts = replica.role === "unreachable"
    ? "does not answer"
    : [`term ${replica.term ?? "?"}`, `commit ${replica.commitIndex ?? "—"}`, `applied ${replica.appliedIndex ?? "—"}`,
      matched !== undefined ? `leader's match ${matched}` : null].filter(Boolean).join(" · ");
  return h("div", { class: `log-row log-${replica.role}`, dataset: { replicaId: replica.id, role: replica.role } },
    h("div", { class: "log-label" },
      h("strong", {}, replica.id), " ", h("span", { class: `role role-${replica.role}` }, replica.role),
      h("span", { class: "log-facts" }, facts)),
    replica.role === "unreachable"
      ? h("p", { class: "log-strip log-down" }, "✕ down or cut off: no log to show")
      : h("ol", { class: "log-strip", "aria-label": `${replica.id}'s log, indexes ${window.first} to ${window.last}` },
        cells));
}

/** Every replica's strip, aligned by index; the group's leader's match index shown on each follower's. */
export function logStrips(replicas, leader) {
  const window = indexWindow(replicas);
  const matchIndex = leader?.matchIndex ?? {};
  const strips = h("div", { class: "log-strips", dataset: { first: String(window.first), last: String(window.last) } },
    h("p", { class: "log-legend" },
      "Each box is a log entry labelled with its term (∅: a new leader's no-op), coloured by term; ",
      "solid: committed, dashed: not yet. Markers: C commit, A applied, M the leader's match index."),
    replicas.map((replica) => logStrip(replica, window,
      leader && replica.id !== leader.id && matchIndex[replica.id] !== undefined ? matchIndex[replica.id] : undefined)));
  // The newest entries are at the right: scroll there once the strips are on the page (narrow screens).
  requestAnimationFrame(() => strips.querySelectorAll(".log-strip").forEach((s) => { s.scrollLeft = s.scrollWidth; }));
  return strips;
}

/** The group's election history, newest first. */
export function electionTable(elections, title) {
  if (!elections.length) return h("p", { class: "elections-empty" }, "No election seen yet.");
  return h("div", { class: "table-scroll" },
    h("table", { class: "elections" },
      h("caption", {}, title),
      h("thead", {}, h("tr", {}, ["Term", "Winner", "When", "Why", "Seen by"].map((t) => h("th", { scope: "col" }, t)))),
      // Rows straight under the table (no tbody): "tbody tr" in a group's section stays its replicas' rows.
      [...elections].reverse().map((e) => h("tr", { dataset: { term: String(e.term) } },
        h("td", {}, h("span", { class: `term-chip ${termClass(e.term)}` }, String(e.term))),
        h("td", {}, e.winner),
        h("td", {}, e.at ? formatTime(e.at) : "—"),
        h("td", {}, e.why ? WHY[e.why] ?? e.why : "unknown (the winner did not answer)"),
        h("td", {}, e.seenBy ?? 1)))));
}
