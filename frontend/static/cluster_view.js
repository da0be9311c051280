// The cluster: every replica of both Raft groups (role, term, leader, log position) and the queue depth,
// from GET /cluster about once a second while the view is open, so a leader's death and the election show.

import { GROUPS, fetchCluster } from "./api.js";
import { config } from "/config.js";
import { announce, byId, formatTime, h, replaceChildren } from "./dom.js";
import { Poller } from "./poller.js";

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
      this.cluster = await fetchCluster(Math.max(config.clusterPollMs * 3, 1500));
    } catch (error) {
      status.classList.add("error");
      status.textContent = `Cannot read the cluster (${error.message}); retrying… (last good view below)`;
      byId("cluster-view").classList.add("stale");
      return false;
    }
    status.classList.remove("error");
    status.textContent = `Updated ${formatTime(new Date())}`;
    byId("cluster-view").classList.remove("stale");
    this.render();
    return false; // watched for as long as the view is open
  }

  render() {
    const { groups, queueDepth, queueLeased } = this.cluster;
    replaceChildren(byId("cluster-view"),
      h("p", { class: "queue-depth" }, "Orders waiting in the queue: ",
        h("strong", { id: "queue-depth" }, queueDepth ?? "unknown"),
        queueLeased !== null ? ` · being executed: ${queueLeased}` : null),
      GROUPS.map((group) => this.group(group, groups[group])));
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
          h("thead", {}, h("tr", {}, ["Replica", "Address", "Role", "Term", "Leader", "Log"].map(
            (title) => h("th", { scope: "col" }, title)))),
          h("tbody", {}, replicas.map((replica) => h("tr", {
            class: `role-${replica.role}${changed && replica.id === leader.id ? " new-leader" : ""}`,
            dataset: { replicaId: replica.id, role: replica.role },
          },
          h("th", { scope: "row" }, replica.id),
          h("td", {}, h("code", {}, replica.address)),
          h("td", {}, h("span", { class: `role role-${replica.role}` }, replica.role)),
          h("td", {}, replica.term ?? "—"),
          h("td", {}, replica.leader ?? "—"),
          h("td", {}, logPosition(replica))))))));
  }
}
