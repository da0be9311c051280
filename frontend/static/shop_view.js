// The catalog (price and stock, from GET /books) and the cart beside it.

import { fetchBooks } from "./api.js";
import { announce, byId, formatPrice, h, replaceChildren } from "./dom.js";
import { QUANTITY_MAX, QUANTITY_MIN, quantityError } from "./validation.js";

function stockText(stock) {
  if (stock === null) return "Stock unknown";
  if (stock <= 0) return "Out of stock";
  return `${stock} in stock`;
}

export class ShopView {
  constructor(cart) {
    this.cart = cart;
    this.books = [];
    this.loading = null;
    cart.onChange(() => this.renderCart());
  }

  /** Stock of a book as last read from the catalog (null when unknown). */
  stockOf(bookId) {
    return this.books.find((book) => book.bookId === bookId)?.stock ?? null;
  }

  show() {
    this.refresh();
    this.renderCart();
  }

  /** Reloads the catalog; concurrent calls share one request. */
  refresh() {
    this.loading ??= this.load().finally(() => { this.loading = null; });
    return this.loading;
  }

  async load() {
    const status = byId("catalog-status");
    if (!this.books.length) status.textContent = "Loading the catalog…";
    try {
      this.books = await fetchBooks();
    } catch (error) {
      status.classList.add("error");
      replaceChildren(status, `Cannot load the catalog: ${error.message}. `,
        h("button", { type: "button", class: "link-button", onclick: () => this.refresh() }, "Try again"));
      return;
    }
    status.classList.remove("error");
    const unknown = this.books.some((book) => book.stock === null);
    status.textContent = `${this.books.length} books` + (unknown ? " · stock figures are not available yet" : "");
    this.cart.updateFromCatalog(this.books);
    this.renderCatalog();
    this.renderCart();
  }

  renderCatalog() {
    replaceChildren(byId("catalog"), this.books.map((book) => this.bookCard(book)));
  }

  bookCard(book) {
    const titleId = `book-${book.bookId}-title`;
    const soldOut = book.stock !== null && book.stock <= 0;
    return h("li", { class: "book-card", dataset: { bookId: book.bookId }, "aria-labelledby": titleId },
      h("h3", { id: titleId, class: "book-title" }, book.title),
      h("p", { class: "book-author" }, book.author),
      h("p", { class: "book-category" }, book.category.replaceAll("-", " ")),
      h("div", { class: "book-buy" },
        h("span", { class: "price" }, formatPrice(book.price)),
        h("span", { class: soldOut ? "stock sold-out" : "stock", dataset: { stock: book.stock ?? "" } },
          stockText(book.stock)),
        h("button", {
          type: "button", class: "button add-to-cart", disabled: soldOut,
          "aria-label": `Add ${book.title} to the cart`,
          onclick: () => {
            const quantity = this.cart.add(book);
            announce(`${book.title} added to the cart (${quantity} in the cart)`);
          },
        }, "Add to cart")));
  }

  renderCart() {
    const focused = document.activeElement?.dataset?.quantityFor;
    const container = byId("cart");
    const items = this.cart.items;
    byId("to-checkout").hidden = !items.length;
    if (!items.length) {
      replaceChildren(container, h("p", { class: "empty" }, "Your cart is empty."));
      return;
    }
    replaceChildren(container,
      h("ul", { class: "cart-lines", "aria-label": "Cart" }, items.map((line) => this.cartLine(line))),
      h("p", { class: "cart-total" }, "Total ", h("strong", { id: "cart-total" }, formatPrice(this.cart.total))));
    if (focused) container.querySelector(`[data-quantity-for="${CSS.escape(focused)}"]`)?.focus();
  }

  cartLine(line) {
    const inputId = `qty-${line.bookId}`;
    const error = quantityError(line.quantity);
    const stock = this.stockOf(line.bookId);
    const warning = !error && stock !== null && line.quantity > stock
      ? `Only ${stock} in stock: the order may be aborted` : "";
    const messageId = `${inputId}-message`;
    const setQuantity = (event) => {
      const text = event.target.value.trim();
      this.cart.setQuantity(line.bookId, text === "" ? Number.NaN : Number(text));
    };
    return h("li", { class: "cart-line", dataset: { bookId: line.bookId } },
      h("span", { class: "cart-title" }, line.title),
      h("label", { class: "visually-hidden", for: inputId }, `Quantity of ${line.title}`),
      h("input", {
        id: inputId, type: "number", class: "quantity", min: QUANTITY_MIN, max: QUANTITY_MAX, step: 1,
        inputmode: "numeric", value: Number.isFinite(line.quantity) ? line.quantity : "",
        dataset: { quantityFor: line.bookId }, "aria-invalid": error ? "true" : null,
        "aria-describedby": messageId, oninput: setQuantity,
      }),
      h("span", { class: "line-price" },
        Number.isInteger(line.quantity) && line.price !== null ? formatPrice(line.price * line.quantity) : ""),
      h("button", {
        type: "button", class: "link-button remove", "aria-label": `Remove ${line.title} from the cart`,
        onclick: () => { this.cart.remove(line.bookId); announce(`${line.title} removed from the cart`); },
      }, "Remove"),
      h("p", { id: messageId, class: error ? "field-error" : "hint warning" }, error || warning));
  }
}
