// The cluster: every replica of both Raft groups (role, term, leader, log position), their logs drawn as strips
// with the election history (raft_logs.js), and the queue depth, from GET /cluster about once a second while the
// view is open, so a leader's death and the election show. On a local fleet started with --allow-faults, buttons
// kill, pause, cut off or restart a replica (GET/POST /faults); elsewhere they are not drawn (docs/watching.md).

import { GROUPS, fetchCluster, fetchFaults, postFault } from "./api.js";
import { config } from "/config.js";
import { announce, byId, formatTime, h, replaceChildren } from "./dom.js";
import { Poller } from "./poller.js";
import { electionTable, logStrips } from "./raft_logs.js";

const FAULT_SECONDS_DEFAULT = 10;
const FAULT_SECONDS_MAX = 120;

const GROUP_TITLES = { order_executor: "Order executors", books_database: "Books database" };

/** The group's leader as the replicas see it: the leader claiming the highest term (a deposed one lags). */
export function groupLeader(replicas) {
  const leaders = replicas.filter((r) => r.role === "leader");
  if (!leaders.length) return null;
  return leaders.reduce((best, r) => ((r.term ?? -1) > (best.term ?? -1) ? r : best));
}

function logPosition(replica) {
  const parts = [];
  if (replica.lastIndex !== null) parts.push(`last ${replica.lastIndex}`);
  if (replica.commitIndex !== null) parts.push(`commit ${replica.commitIndex}`);
  if (replica.appliedIndex !== null) parts.push(`applied ${replica.appliedIndex}`);
  return parts.join(" · ") || "—";
}

export class ClusterView {
  constructor() {
    this.poller = null;
    this.leaders = {}; // group → leader id last shown, to announce elections
    this.cluster = null;
    this.faults = null; // GET /faults: {enabled, reason, replicas: {id: {state, until}}, cut}
    this.faultSeconds = FAULT_SECONDS_DEFAULT;
    this.faultMessage = "";
  }

  show() {
    if (this.poller?.running) return;
    this.poller = new Poller(() => this.poll(), { intervalMs: config.clusterPollMs });
    this.poller.start();
  }

  hide() {
    this.poller?.stop();
    this.poller = null;
  }

  async poll() {
    const status = byId("cluster-status");
    try {
      // A poll slower than a few intervals is worth less than the next one.
      const timeoutMs = Math.max(config.clusterPollMs * 3, 1500);
      const faults = this.faults?.enabled === false ? null : fetchFaults(timeoutMs).catch(() => null);
      this.cluster = await fetchCluster(timeoutMs);
      if (faults) this.faults = (await faults) ?? this.faults;
    } catch (error) {
      status.classList.add("error");
      status.textContent = `Cannot read the cluster (${error.message}); retrying… (last good view below)`;
      byId("cluster-view").classList.add("stale");
      return false;
    }
    status.classList.remove("error");
    status.textContent = `Updated ${formatTime(new Date())}`;
    byId("cluster-view").classList.remove("stale");
    // Redrawn only when something changed: a button under the pointer (or keyboard focus) survives idle polls.
    const drawn = JSON.stringify([this.cluster, this.faults]);
    if (drawn !== this.drawn) {
      this.drawn = drawn;
      this.render();
    }
    return false; // watched for as long as the view is open
  }

  render() {
    const { groups, queueDepth, queueLeased } = this.cluster;
    replaceChildren(byId("cluster-view"),
      h("p", { class: "queue-depth" }, "Orders waiting in the queue: ",
        h("strong", { id: "queue-depth" }, queueDepth ?? "unknown"),
        queueLeased !== null ? ` · being executed: ${queueLeased}` : null),
      this.faultControls(),
      GROUPS.map((group) => this.group(group, groups[group])));
  }

  faultsOn() {
    return this.faults?.enabled === true;
  }

  faultControls() {
    if (!this.faultsOn()) return null;
    const cut = this.faults.cut ?? {};
    return h("div", { class: "fault-controls", role: "group", "aria-label": "Fault injection" },
      h("label", { for: "fault-seconds" }, "Pause / cut off for ",
        h("input", { id: "fault-seconds", type: "number", min: 1, max: FAULT_SECONDS_MAX, value: this.faultSeconds,
          inputmode: "numeric", onchange: (event) => { this.faultSeconds = Number(event.target.value); } }),
        " s"),
      cut.available ? null : h("span", { class: "fault-note" }, `Cut off unavailable: ${cut.reason ?? "?"}`),
      h("p", { id: "fault-message", class: "fault-message", role: "status" }, this.faultMessage));
  }

  faultCell(replica) {
    const state = this.faults.replicas?.[replica.id];
    if (!state) return h("td", {}, "—");
    const until = state.until ? ` until ${formatTime(state.until)}` : "";
    const button = (action, label, enabled) => h("button", {
      type: "button", class: `fault fault-${action}`, disabled: !enabled,
      dataset: { action, replica: replica.id },
      "aria-label": `${label} ${replica.id}`,
      onclick: () => this.inject(replica.id, action),
    }, label);
    const running = state.state === "running";
    const cutOk = this.faults.cut?.available === true;
    return h("td", { class: "fault-cell" },
      h("span", { class: `fault-state fault-state-${state.state}`, dataset: { faultState: state.state } },
        `${state.state}${until}`),
      h("span", { class: "fault-buttons" },
        button("kill", "Kill", running || state.state === "paused" || state.state === "cut"),
        button("pause", "Pause", running),
        button("cut", "Cut off", running && cutOk),
        button("restart", "Restart", state.state === "killed" || state.state === "exited")));
  }

  async inject(replicaId, action) {
    const seconds = action === "pause" || action === "cut" ? this.faultSeconds : null;
    const what = `${action} ${replicaId}${seconds ? ` for ${seconds} s` : ""}`;
    try {
      const answer = await postFault(replicaId, action, seconds);
      this.faults = answer;
      this.faultMessage = `Done: ${what}`;
    } catch (error) {
      this.faultMessage = `Refused: ${what}: ${error.message}`;
    }
    announce(this.faultMessage);
    if (this.cluster) {
      this.drawn = JSON.stringify([this.cluster, this.faults]);
      this.render();
    }
  }

  group(name, replicas) {
    const leader = groupLeader(replicas);
    const previous = this.leaders[name];
    const changed = leader && previous !== undefined && previous !== leader.id;
    if (changed) announce(`${GROUP_TITLES[name]}: ${leader.id} is the new leader (term ${leader.term ?? "?"})`);
    this.leaders[name] = leader?.id ?? previous;
    const titleId = `group-${name}-title`;
    const summary = leader
      ? `Leader ${leader.id}, term ${leader.term ?? "?"}`
      : replicas.some((r) => r.role !== "unreachable")
        ? "No leader: an election is under way"
        : "No replica answers";
    return h("section", { class: "group", dataset: { group: name }, "aria-labelledby": titleId },
      h("h2", { id: titleId }, GROUP_TITLES[name] ?? name),
      h("p", { class: leader ? "group-summary" : "group-summary warning", dataset: { leader: leader?.id ?? "" } },
        summary),
      h("div", { class: "table-scroll" },
        h("table", { class: "replicas" },
          h("caption", { class: "visually-hidden" }, `${GROUP_TITLES[name] ?? name} replicas`),
          h("thead", {}, h("tr", {}, ["Replica", "Address", "Role", "Term", "Leader", "Log",
            this.faultsOn() ? "Faults" : null].filter(Boolean).map((title) => h("th", { scope: "col" }, title)))),
          h("tbody", {}, replicas.map((replica) => h("tr", {
            class: `role-${replica.role}${changed && replica.id === leader.id ? " new-leader" : ""}`,
            dataset: { replicaId: replica.id, role: replica.role },
          },
          h("th", { scope: "row" }, replica.id),
          h("td", {}, h("code", {}, replica.address)),
          h("td", {}, h("span", { class: `role role-${replica.role}` }, replica.role)),
          h("td", {}, replica.term ?? "—"),
          h("td", {}, replica.leader ?? "—"),
          h("td", {}, logPosition(replica)),
          this.faultsOn() ? this.faultCell(replica) : null))))),
      h("h3", {}, "Logs"),
      logStrips(replicas, leader),
      h("h3", {}, "Elections"),
      electionTable(this.cluster.elections?.[name] ?? [], `${GROUP_TITLES[name] ?? name}: elections, newest first`));
  }
}
