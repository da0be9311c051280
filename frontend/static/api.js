// The orchestrator's HTTP API (docs/design.md §7) as seen from the page: requests with a deadline, problem+json
// errors as ApiError, and replies normalised so the views do not depend on optional members.

import { config } from "/config.js";

export const REQUEST_TIMEOUT_MS = 8000;

/** A reply that is not 2xx (with its problem+json), or no reply at all (status 0). */
export class ApiError extends Error {
  constructor(status, problem, message) {
    super(message || problem?.detail || problem?.error?.message || problem?.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem ?? null;
  }

  get unreachable() { return this.status === 0; }
}

async function request(path, { method = "GET", body, headers = {}, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(`${config.apiBaseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: "no-store",
    });
  } catch (error) {
    const why = error.name === "AbortError" ? `no answer within ${timeoutMs / 1000} s` : "cannot reach the API";
    throw new ApiError(0, null, `The store is unreachable (${why})`);
  } finally {
    clearTimeout(timer);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function numberOrNull(value) {
  if (value === null || value === undefined || value === "") return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

function firstDefined(object, ...names) {
  for (const name of names) {
    if (object?.[name] !== undefined && object[name] !== null) return object[name];
  }
  return null;
}

export function normalizeBook(raw) {
  return {
    bookId: String(firstDefined(raw, "bookId", "book_id", "id")),
    title: String(raw.title ?? ""),
    author: String(raw.author ?? ""),
    category: String(raw.category ?? ""),
    price: numberOrNull(raw.price),
    stock: numberOrNull(firstDefined(raw, "stock", "quantity", "available")),
  };
}

export async function fetchBooks() {
  const data = await request("/books");
  const books = Array.isArray(data) ? data : data?.books ?? [];
  return books.map(normalizeBook);
}

/** POST /checkout with an Idempotency-Key, so a retried click never places the order twice. */
export async function submitCheckout(order, idempotencyKey) {
  return request("/checkout", { method: "POST", body: order, headers: { "Idempotency-Key": idempotencyKey } });
}

export const FINAL_STATES = Object.freeze(["COMMITTED", "ABORTED", "REJECTED"]);

export function normalizeOrder(raw) {
  return {
    orderId: String(firstDefined(raw, "orderId", "order_id") ?? ""),
    state: String(raw.state ?? "UNKNOWN").toUpperCase(),
    reason: String(raw.reason ?? ""),
    items: Array.isArray(raw.items) ? raw.items : [],
    total: numberOrNull(raw.total),
    updatedAt: firstDefined(raw, "updatedAt", "updated_at"),
  };
}

export async function fetchOrder(orderId, timeoutMs) {
  return normalizeOrder(await request(`/orders/${encodeURIComponent(orderId)}`, { timeoutMs }));
}

export const GROUPS = Object.freeze(["order_executor", "books_database"]);

function normalizeReplica(raw, fallbackId) {
  const role = String(raw.role ?? "unreachable").toLowerCase();
  return {
    id: String(firstDefined(raw, "id", "nodeId", "node_id") ?? fallbackId ?? "?"),
    address: String(raw.address ?? ""),
    role,
    term: numberOrNull(raw.term),
    leader: firstDefined(raw, "leaderId", "leader_id", "leader"),
    commitIndex: numberOrNull(firstDefined(raw, "commitIndex", "commit_index")),
    appliedIndex: numberOrNull(firstDefined(raw, "appliedIndex", "applied_index", "lastApplied", "last_applied")),
    lastIndex: numberOrNull(firstDefined(raw, "logPosition", "log_position", "lastIndex", "last_index",
      "lastLogIndex", "last_log_index", "logIndex", "log_index")),
    logTail: Array.isArray(raw.logTail) ? raw.logTail : [], // {index, term, kind}, oldest first
    matchIndex: raw.matchIndex && typeof raw.matchIndex === "object" ? raw.matchIndex : {},
  };
}

function replicasOf(group) {
  const replicas = Array.isArray(group) ? group : group?.replicas ?? group?.nodes ?? [];
  if (Array.isArray(replicas)) return replicas.map((r) => normalizeReplica(r));
  return Object.entries(replicas).map(([id, r]) => normalizeReplica(r, id));
}

/** {groups: {order_executor: [replica], books_database: [replica]}, queueDepth, queueLeased} */
export function normalizeCluster(raw) {
  const source = raw?.groups ?? raw ?? {};
  const groups = {};
  for (const name of GROUPS) {
    const replicas = replicasOf(source[name]);
    replicas.sort((a, b) => a.id.localeCompare(b.id));
    groups[name] = replicas;
  }
  const queue = raw?.queue ?? raw?.order_queue ?? {};
  const queueDepth = numberOrNull(firstDefined(raw, "queueDepth", "queue_depth") ?? firstDefined(queue, "depth"));
  const queueLeased = numberOrNull(firstDefined(raw, "queueLeased", "queue_leased") ?? firstDefined(queue, "leased"));
  // Each group's election history (term, winner, at, why, seenBy), merged by the gateway from every replica's.
  const elections = Object.fromEntries(GROUPS.map((name) => [name,
    Array.isArray(source[name]?.elections) ? source[name].elections : []]));
  return { groups, elections, queueDepth, queueLeased };
}

export async function fetchCluster(timeoutMs) {
  return normalizeCluster(await request("/cluster", { timeoutMs }));
}

/** GET /faults: whether the fault buttons work here (a local fleet started with --allow-faults), and each
 * replica's state under them. */
export async function fetchFaults(timeoutMs) {
  return request("/faults", { timeoutMs });
}

/** POST /faults/{replica}/{action}: kill, pause, cut (for `seconds`) or restart one replica. */
export async function postFault(replica, action, seconds) {
  const path = `/faults/${encodeURIComponent(replica)}/${encodeURIComponent(action)}`;
  return request(path, { method: "POST", body: { seconds: seconds ?? null }, timeoutMs: 20000 });
}

/** GET /orders/{id}/trace: the validation flow's events with their vector clocks (the space-time diagram's data). */
export async function fetchOrderTrace(orderId, timeoutMs) {
  return request(`/orders/${encodeURIComponent(orderId)}/trace`, { timeoutMs });
}

/** GET /orders/{id}/twopc: the order's two-phase commit as the executor replicas saw it (the timeline's data). */
export async function fetchOrderTwoPc(orderId, timeoutMs) {
  return request(`/orders/${encodeURIComponent(orderId)}/twopc`, { timeoutMs });
}
