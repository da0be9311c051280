// The cart: which books, how many of each. Kept in sessionStorage so a reload keeps it
// (book ids and quantities only — nothing about the buyer or their card is ever stored).

import { QUANTITY_MAX, QUANTITY_MIN } from "./validation.js";

const STORAGE_KEY = "bookstore.cart.v1";

export class Cart {
  constructor(storage = globalThis.sessionStorage) {
    this.storage = storage;
    this.lines = new Map(); // bookId → {bookId, title, author, price, quantity}
    this.listeners = new Set();
    this.load();
  }

  load() {
    try {
      const saved = JSON.parse(this.storage?.getItem(STORAGE_KEY) ?? "[]");
      for (const line of Array.isArray(saved) ? saved : []) {
        if (line?.bookId) this.lines.set(String(line.bookId), { ...line, quantity: Number(line.quantity) || 1 });
      }
    } catch {
      this.lines.clear(); // a damaged entry is dropped, not fatal
    }
  }

  save() {
    try {
      this.storage?.setItem(STORAGE_KEY, JSON.stringify([...this.lines.values()]));
    } catch {
      // Private windows may refuse storage: the cart still works for this page's life.
    }
  }

  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    this.save();
    for (const listener of this.listeners) listener(this);
  }

  /** Adds `count` copies of `book`; the quantity stops at QUANTITY_MAX. Returns the new quantity. */
  add(book, count = 1) {
    const line = this.lines.get(book.bookId);
    const quantity = Math.min(QUANTITY_MAX, (line?.quantity ?? 0) + count);
    this.lines.set(book.bookId, {
      bookId: book.bookId, title: book.title, author: book.author, price: book.price ?? line?.price ?? null, quantity,
    });
    this.changed();
    return quantity;
  }

  /** Sets a line's quantity as typed; out-of-range values are kept so the page can show the error. */
  setQuantity(bookId, quantity) {
    const line = this.lines.get(bookId);
    if (!line) return;
    line.quantity = quantity;
    this.changed();
  }

  remove(bookId) {
    if (this.lines.delete(bookId)) this.changed();
  }

  clear() {
    this.lines.clear();
    this.changed();
  }

  /** Refreshes titles and prices from the catalog (prices may change between visits). */
  updateFromCatalog(books) {
    let touched = false;
    for (const book of books) {
      const line = this.lines.get(book.bookId);
      if (line && (line.price !== book.price || line.title !== book.title)) {
        Object.assign(line, { title: book.title, author: book.author, price: book.price });
        touched = true;
      }
    }
    if (touched) this.changed();
  }

  get items() {
    return [...this.lines.values()];
  }

  get count() {
    return this.items.reduce((sum, line) => sum + (Number.isInteger(line.quantity) ? line.quantity : 0), 0);
  }

  get total() {
    return this.items.reduce((sum, line) => {
      const ok = Number.isInteger(line.quantity) && line.quantity >= QUANTITY_MIN && line.price !== null;
      return ok ? sum + line.price * line.quantity : sum;
    }, 0);
  }
}
