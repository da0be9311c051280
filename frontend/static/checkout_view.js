// The checkout form: checked in the page first (validation.js), sent with an Idempotency-Key, and the
// server's verdict — problem+json field errors or rejection reasons — shown at the fields they concern.

import { ApiError, submitCheckout } from "./api.js";
import { announce, byId, formatPrice, h, replaceChildren } from "./dom.js";
import { problemFieldErrors, reasonFieldErrors } from "./field_errors.js";
import { checkoutRequest, validateCheckout } from "./validation.js";

const TEXT_FIELDS = ["userName", "contact", "cardNumber", "expiry", "cvv", "street", "city", "state", "zip", "country"];
const CARD_FIELDS = ["cardNumber", "expiry", "cvv"];
const FIELD_LABELS = {
  userName: "Name", contact: "E-mail or phone", cardNumber: "Card number", expiry: "Expiry", cvv: "CVV",
  street: "Street", city: "City", state: "State or region", zip: "Postal code", country: "Country",
  shippingMethod: "Shipping", giftWrapping: "Gift wrap", termsAccepted: "Terms and conditions", items: "Cart",
};

function newIdempotencyKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; getRandomValues does not (e.g. a page served by a container's hostname).
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function describe(error) {
  if (!(error instanceof ApiError)) return `Something went wrong: ${error.message}`;
  if (error.unreachable) return `${error.message}. Your order was not placed; try again.`;
  if (error.status === 409) return "This order is still being processed. Wait a moment before sending it again.";
  if (error.status === 413) return "The order is too large to send.";
  if (error.status === 503) return `A service the store needs is down (${error.message}). Try again shortly.`;
  return error.message;
}

export class CheckoutView {
  constructor(cart, shop, onPlaced) {
    this.cart = cart;
    this.shop = shop;
    this.onPlaced = onPlaced;
    this.form = byId("checkout-form");
    this.sending = false;
    // One key per order attempt: kept while the shopper retries the same order after no answer (the server
    // replays its first response), dropped when the form or cart changes or the server has answered.
    this.idempotencyKey = null;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    // A corrected field loses its error as soon as it is edited.
    this.form.addEventListener("input", (event) => {
      this.idempotencyKey = null;
      const field = event.target.name === "shippingMethod" ? "shippingMethod" : event.target.id;
      if (field) this.setFieldError(field, "");
    });
    cart.onChange(() => {
      this.idempotencyKey = null;
      this.renderSummary();
    });
  }

  show() {
    this.renderSummary();
    this.shop.refresh().then(() => this.renderSummary());
  }

  values() {
    const values = Object.fromEntries(TEXT_FIELDS.map((field) => [field, byId(field).value]));
    values.shippingMethod = this.form.querySelector("input[name=shippingMethod]:checked")?.value ?? "";
    values.giftWrapping = byId("giftWrapping").checked;
    values.termsAccepted = byId("termsAccepted").checked;
    return values;
  }

  renderSummary() {
    const items = this.cart.items;
    const summary = byId("checkout-summary");
    if (!items.length) {
      replaceChildren(summary, h("p", { class: "empty" }, "Your cart is empty. ", h("a", { href: "#/shop" }, "Find a book")));
      return;
    }
    replaceChildren(summary,
      h("ul", { class: "summary-lines" }, items.map((line) => {
        const stock = this.shop.stockOf(line.bookId);
        return h("li", { dataset: { bookId: line.bookId } },
          h("span", {}, `${line.quantity} × ${line.title}`),
          h("span", {}, Number.isInteger(line.quantity) && line.price !== null ? formatPrice(line.price * line.quantity) : ""),
          stock !== null && line.quantity > stock ? h("span", { class: "hint warning" }, `only ${stock} in stock`) : null);
      })),
      h("p", { class: "cart-total" }, "Total ", h("strong", {}, formatPrice(this.cart.total))));
  }

  setFieldError(field, message) {
    const slot = document.getElementById(`${field}-error`);
    if (slot) slot.textContent = message;
    const input = document.getElementById(field);
    if (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    if (!message) this.refreshErrorBox();
  }

  clearErrors() {
    for (const slot of this.form.parentElement.querySelectorAll(".field-error")) slot.textContent = "";
    for (const input of this.form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    byId("form-errors").hidden = true;
    byId("checkout-result").hidden = true;
  }

  refreshErrorBox() {
    const box = byId("form-errors");
    if (box.hidden || box.dataset.general) return;
    const left = [...this.form.parentElement.querySelectorAll(".field-error")].some((slot) => slot.textContent);
    if (!left) box.hidden = true;
  }

  /** Shows {field: message} at the fields and a summary at the top with a link to each; focuses it. */
  showErrors(fields, general = [], heading = "") {
    for (const [field, message] of Object.entries(fields)) this.setFieldError(field, message);
    const box = byId("form-errors");
    const count = Object.keys(fields).length;
    const title = heading || (count === 1 ? "Please correct 1 field" : `Please correct ${count} fields`);
    box.dataset.general = general.length ? "yes" : "";
    replaceChildren(box,
      h("p", { class: "error-heading" }, title),
      h("ul", {},
        general.map((message) => h("li", {}, message)),
        Object.entries(fields).map(([field, message]) => h("li", {},
          h("a", {
            href: `#${field}`,
            onclick: (event) => { event.preventDefault(); this.focusField(field); },
          }, `${FIELD_LABELS[field] ?? field}: ${message}`)))));
    box.hidden = false;
    box.focus();
  }

  focusField(field) {
    if (field === "items") byId("checkout-summary").focus();
    else if (field === "shippingMethod") this.form.querySelector("input[name=shippingMethod]:checked, input[name=shippingMethod]").focus();
    else document.getElementById(field)?.focus();
  }

  async submit() {
    if (this.sending) return;
    this.clearErrors();
    const values = this.values();
    const items = this.cart.items;
    if (byId("browserChecks").checked) {
      const errors = validateCheckout(values, items, new Date());
      if (Object.keys(errors).length) {
        this.showErrors(errors);
        return;
      }
    }
    const button = byId("place-order");
    this.sending = true;
    button.disabled = true;
    button.textContent = "Placing order…";
    this.form.setAttribute("aria-busy", "true");
    try {
      this.idempotencyKey ??= newIdempotencyKey();
      const reply = await submitCheckout(checkoutRequest(values, items), this.idempotencyKey);
      this.idempotencyKey = null;
      this.handleReply(reply ?? {});
    } catch (error) {
      // No answer, or the first attempt still running: a retry must carry the same key.
      const retryable = error instanceof ApiError && (error.unreachable || error.status === 409);
      if (!retryable) this.idempotencyKey = null;
      if (error instanceof ApiError && error.problem && [400, 422].includes(error.status)) {
        const { fields, general } = problemFieldErrors(error.problem);
        this.showErrors(fields, general, "The store could not accept this order");
      } else {
        this.showErrors({}, [describe(error)], "The order was not placed");
      }
    } finally {
      this.sending = false;
      button.disabled = false;
      button.textContent = "Place order";
      this.form.removeAttribute("aria-busy");
    }
  }

  handleReply(reply) {
    const approved = /approved/i.test(String(reply.status ?? ""));
    if (approved) {
      // The card's details live only in the form, and only until the order is placed.
      for (const field of CARD_FIELDS) byId(field).value = "";
      this.cart.clear();
      announce(`Order ${reply.orderId} approved`);
      this.onPlaced(reply);
      return;
    }
    const reasons = Array.isArray(reply.reasons) && reply.reasons.length ? reply.reasons : [reply.message || "Rejected"];
    const { fields, general } = reasonFieldErrors(reasons);
    this.renderRejection(reply, reasons);
    this.showErrors(fields, general, `Order rejected: ${reply.message || reasons.join("; ")}`);
  }

  renderRejection(reply, reasons) {
    const result = byId("checkout-result");
    replaceChildren(result,
      h("h3", {}, "Order rejected"),
      reply.orderId ? h("p", {}, "Order ", h("code", { id: "rejected-order-id" }, reply.orderId)) : null,
      h("ul", { class: "reasons" }, reasons.map((reason) => h("li", {}, reason))));
    result.hidden = false;
  }
}
