// One order: the checkout's verdict and suggestions, then its live state from GET /orders/{id}
// (QUEUED → EXECUTING → COMMITTED, or ABORTED with its reason), polled until final or for a bounded time.

import { ApiError, FINAL_STATES, fetchOrder, fetchOrderTrace, fetchOrderTwoPc } from "./api.js";
import { config } from "/config.js";
import { announce, byId, formatPrice, formatTime, h, replaceChildren } from "./dom.js";
import { Poller } from "./poller.js";
import { spaceTimeDiagram } from "./spacetime.js";
import { twoPcTimeline } from "./twopc_timeline.js";

const HAPPY_PATH = ["QUEUED", "EXECUTING", "COMMITTED"];
const STATE_WORDS = {
  QUEUED: "Queued: waiting for an executor",
  EXECUTING: "Executing: two-phase commit over the books database and the payment service",
  COMMITTED: "Committed: paid, and the books are yours",
  ABORTED: "Aborted: nothing was charged and no stock was taken",
  REJECTED: "Rejected at validation",
};

export class OrderView {
  constructor(cart, onFinal) {
    this.cart = cart;
    this.onFinal = onFinal;
    this.placed = new Map(); // orderId → the checkout's reply (no card data is in it)
    this.orderId = null;
    this.order = null;
    this.poller = null;
    this.watch = "";
    this.progressShown = "";
    this.drawings = { orderId: null, trace: null, twopc: null }; // fetched once per order (docs/drawings.md)
  }

  /** Remembers a fresh checkout reply so its verdict and suggestions show beside the live state. */
  remember(reply) {
    this.placed.set(String(reply.orderId), reply);
  }

  get latestOrderId() {
    return [...this.placed.keys()].at(-1) ?? null;
  }

  show(orderId) {
    const id = orderId ?? this.latestOrderId;
    if (id !== this.orderId) {
      this.stopWatching();
      this.orderId = id;
      this.order = null;
    }
    this.render();
    if (id && !FINAL_STATES.includes(this.order?.state)) this.startWatching();
  }

  hide() {
    // Watching goes on while the shopper browses (it is bounded), so the final state is announced anyway.
  }

  startWatching() {
    if (this.poller?.running) return;
    const orderId = this.orderId;
    this.poller = new Poller(() => this.poll(orderId), {
      intervalMs: config.orderPollMs,
      watchMs: config.orderWatchMs,
      onEnd: (why) => {
        this.watch = why === "time limit" ? `Stopped watching after ${Math.round(config.orderWatchMs / 1000)} s.` : "";
        this.renderProgress();
      },
    });
    this.watch = "Watching live…";
    this.renderProgress();
    this.poller.start();
  }

  stopWatching() {
    this.poller?.stop();
    this.poller = null;
  }

  async poll(orderId) {
    let order;
    try {
      order = await fetchOrder(orderId, Math.max(config.orderPollMs * 4, 2000));
    } catch (error) {
      if (orderId !== this.orderId) return true;
      this.watch = error instanceof ApiError && error.status === 404
        ? "The store has no record of this order yet; still looking…"
        : `Cannot read the order's state (${error.message}); still trying…`;
      this.renderProgress();
      return false;
    }
    if (orderId !== this.orderId) return true;
    const previous = this.order?.state;
    this.order = order;
    const final = FINAL_STATES.includes(order.state);
    this.watch = final ? "" : "Watching live…";
    this.renderProgress();
    if (order.state !== previous) {
      announce(`Order ${orderId}: ${STATE_WORDS[order.state] ?? order.state}${order.reason ? ` (${order.reason})` : ""}`);
      if (final) this.onFinal(order);
      if (final) this.loadTwoPc(orderId, order.state);
    }
    return final;
  }

  /** The whole view, once per order: verdict, suggestions and clock do not change while it is watched. */
  render() {
    const container = byId("order-view");
    this.progressShown = "";
    if (!this.orderId) {
      replaceChildren(container, h("p", {}, "No order placed yet. ", h("a", { href: "#/shop" }, "Browse the books")));
      return;
    }
    const reply = this.placed.get(this.orderId);
    replaceChildren(container,
      h("p", { class: "order-id" }, "Order ", h("code", { id: "order-id" }, this.orderId)),
      reply ? this.verdict(reply) : null,
      h("div", { id: "order-progress" }),
      reply ? this.suggestions(reply) : null,
      reply ? this.clock(reply) : null,
      h("section", { class: "drawings", "aria-labelledby": "drawings-title" },
        h("h2", { id: "drawings-title" }, "Watch it think"),
        h("div", { id: "flow-slot" }, h("p", { class: "hint" }, "Loading the validation flow…")),
        h("div", { id: "twopc-slot" }, h("p", { class: "hint" }, "The two-phase commit shows once the order is final."))));
    this.renderProgress();
    this.loadTrace(this.orderId);
    if (FINAL_STATES.includes(this.order?.state)) this.loadTwoPc(this.orderId, this.order.state);
  }

  drawingsFor(orderId) {
    if (this.drawings.orderId !== orderId) this.drawings = { orderId, trace: null, twopc: null };
    return this.drawings;
  }

  /** The validation flow's space-time diagram, from the services' own records as the gateway keeps them. */
  async loadTrace(orderId) {
    const drawings = this.drawingsFor(orderId);
    if (!drawings.trace) {
      try {
        drawings.trace = await fetchOrderTrace(orderId, 4000);
      } catch (error) {
        if (orderId !== this.orderId) return;
        const slot = document.getElementById("flow-slot");
        if (slot) replaceChildren(slot, h("p", { class: "hint" }, error instanceof ApiError && error.status === 404
          ? "The gateway no longer keeps this order's validation trace."
          : `Cannot load the validation flow (${error.message}).`));
        return;
      }
    }
    const slot = document.getElementById("flow-slot");
    if (slot && orderId === this.orderId) replaceChildren(slot, spaceTimeDiagram(drawings.trace));
  }

  /** The two-phase commit's timeline, once the order is final (the executor replicas' journals, merged). */
  async loadTwoPc(orderId, state) {
    const slot = () => (orderId === this.orderId ? document.getElementById("twopc-slot") : null);
    if (state === "REJECTED") {
      if (slot()) replaceChildren(slot(), h("p", { class: "hint", id: "twopc-none" }, "Rejected at validation: no two-phase commit ran."));
      return;
    }
    const drawings = this.drawingsFor(orderId);
    if (!drawings.twopc) {
      try {
        drawings.twopc = await fetchOrderTwoPc(orderId, 4000);
      } catch (error) {
        if (slot()) replaceChildren(slot(), h("p", { class: "hint" }, `Cannot load the two-phase commit (${error.message}).`));
        return;
      }
    }
    if (!slot()) return;
    replaceChildren(slot(), drawings.twopc.steps?.length ? twoPcTimeline(drawings.twopc)
      : h("p", { class: "hint", id: "twopc-none" }, "The executor replicas hold no two-phase commit for this order."));
  }

  /** Only the live part, and only when it changed, so keyboard focus elsewhere in the view survives polling. */
  renderProgress() {
    const slot = document.getElementById("order-progress");
    if (!slot) return;
    const shown = JSON.stringify([this.order, this.watch]);
    if (shown === this.progressShown) return;
    this.progressShown = shown;
    replaceChildren(slot, this.progress());
  }

  verdict(reply) {
    const approved = /approved/i.test(String(reply.status ?? ""));
    return h("div", { class: `verdict ${approved ? "approved" : "rejected"}`, id: "order-verdict" },
      h("p", { class: "verdict-title" }, approved ? "Approved" : "Rejected"),
      reply.message ? h("p", {}, reply.message) : null,
      reply.reasons?.length ? h("ul", { class: "reasons" }, reply.reasons.map((r) => h("li", {}, r))) : null);
  }

  progress() {
    const state = this.order?.state ?? "";
    const steps = state === "ABORTED" || state === "REJECTED" ? [...HAPPY_PATH.slice(0, 2), state] : HAPPY_PATH;
    const reached = steps.indexOf(state);
    const items = this.order?.items ?? [];
    return h("section", { class: "progress", "aria-labelledby": "progress-title" },
      h("h2", { id: "progress-title" }, "Progress"),
      h("ol", { class: "timeline" }, steps.map((step, index) => h("li", {
        class: [index < reached ? "done" : "", index === reached ? `current state-${step.toLowerCase()}` : ""].join(" ").trim(),
        "aria-current": index === reached ? "step" : null,
      }, step))),
      h("p", { class: `order-state state-${state.toLowerCase() || "unknown"}`, id: "order-state", dataset: { state } },
        state ? STATE_WORDS[state] ?? state : "Asking the store for the order's state…"),
      this.order?.reason ? h("p", { class: "order-reason", id: "order-reason" }, `Reason: ${this.order.reason}`) : null,
      items.length ? h("ul", { class: "order-items" }, items.map((item) => h("li", {},
        `${item.quantity ?? "?"} × ${item.title ?? item.name ?? item.bookId ?? item.book_id ?? "book"}`))) : null,
      this.order?.total !== null && this.order?.total !== undefined
        ? h("p", {}, "Total ", h("strong", {}, formatPrice(this.order.total))) : null,
      this.order?.updatedAt ? h("p", { class: "hint" }, `Updated ${formatTime(this.order.updatedAt)}`) : null,
      h("p", { class: "status-line", id: "order-watch" }, this.watch,
        this.watch.startsWith("Stopped") ? h("button", {
          type: "button", class: "link-button", onclick: () => this.startWatching(),
        }, " Keep watching") : null));
  }

  suggestions(reply) {
    const books = Array.isArray(reply.suggestedBooks) ? reply.suggestedBooks : [];
    if (!books.length) return null;
    return h("section", { class: "suggestions", "aria-labelledby": "suggestions-title" },
      h("h2", { id: "suggestions-title" }, "You may also like"),
      h("ul", { class: "suggestion-list" }, books.map((book) => {
        const bookId = String(book.bookId ?? book.book_id ?? book.id);
        return h("li", { class: "suggestion", dataset: { bookId } },
          h("span", { class: "book-title" }, book.title), h("span", { class: "book-author" }, book.author ?? ""),
          h("button", {
            type: "button", class: "button add-suggestion", "aria-label": `Add ${book.title} to the cart`,
            onclick: () => {
              const quantity = this.cart.add({ bookId, title: book.title, author: book.author, price: book.price ?? null });
              announce(`${book.title} added to the cart (${quantity} in the cart)`);
            },
          }, "Add to cart"));
      })));
  }

  clock(reply) {
    const entries = Object.entries(reply.finalVectorClock ?? {}).sort(([a], [b]) => a.localeCompare(b));
    if (!entries.length) return null;
    return h("details", { class: "vector-clock" },
      h("summary", {}, "The validation flow's final vector clock"),
      h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Service"), h("th", { scope: "col" }, "Events"))),
        h("tbody", {}, entries.map(([service, count]) => h("tr", {}, h("th", { scope: "row" }, service), h("td", {}, count))))));
  }
}
