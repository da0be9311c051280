// The storefront's entry: builds the views and routes between them by the URL's hash
// (#/shop, #/checkout, #/orders/{id}, #/cluster), so every screen has a link and the back button works.

import { Cart } from "./cart.js";
import { CheckoutView } from "./checkout_view.js";
import { ClusterView } from "./cluster_view.js";
import { byId } from "./dom.js";
import { OrderView } from "./order_view.js";
import { ShopView } from "./shop_view.js";

const TITLES = { shop: "Books", checkout: "Checkout", order: "Your order", cluster: "Cluster" };

const cart = new Cart();
const shop = new ShopView(cart);
const orders = new OrderView(cart, () => shop.refresh());
const checkout = new CheckoutView(cart, shop, (reply) => {
  orders.remember(reply);
  byId("nav-order").hidden = false;
  location.hash = `#/orders/${encodeURIComponent(reply.orderId)}`;
});
const cluster = new ClusterView();
const views = { shop, checkout, order: orders, cluster };

function parseRoute(hash) {
  const [name, ...rest] = hash.replace(/^#\/?/, "").split("/");
  if (name === "orders" && rest.length) return { view: "order", orderId: decodeURIComponent(rest.join("/")) };
  if (name in views) return { view: name };
  return { view: "shop" };
}

let current = null;

function route({ moveFocus }) {
  const { view, orderId } = parseRoute(location.hash);
  if (current && current !== view) views[current].hide?.();
  for (const section of document.querySelectorAll("[data-view]")) section.hidden = section.dataset.view !== view;
  for (const link of document.querySelectorAll("[data-route]")) {
    if (link.dataset.route === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (view === "order") byId("nav-order").hidden = false;
  document.title = `${TITLES[view]} · Distributed Bookstore`;
  current = view;
  views[view].show(orderId);
  // After a click in the menu, keyboard and screen-reader users land on the new screen's heading.
  if (moveFocus) {
    const heading = document.querySelector(`[data-view="${view}"] h1`);
    heading?.setAttribute("tabindex", "-1");
    heading?.focus({ preventScroll: false });
  }
}

function updateCartCount() {
  const badge = byId("cart-count");
  badge.textContent = String(cart.count);
  badge.setAttribute("aria-label", `${cart.count} ${cart.count === 1 ? "item" : "items"} in the cart`);
}

cart.onChange(updateCartCount);
updateCartCount();
window.addEventListener("hashchange", () => route({ moveFocus: true }));
route({ moveFocus: false });
document.documentElement.dataset.ready = "true";
