// The checkout's field rules, checked in the page as the server checks them (the server stays the judge).
// Pure: no DOM, no clock — "today" is an argument — so the rules are tested on their own.

export const QUANTITY_MIN = 1;
export const QUANTITY_MAX = 100;
export const CARD_DIGITS_MIN = 12;
export const CARD_DIGITS_MAX = 19;
export const SHIPPING_METHODS = Object.freeze(["standard", "priority", "express"]);

/** The card number's digits, with the spaces and dashes people type removed; null if anything else is in it. */
export function cardDigits(text) {
  const compact = String(text ?? "").replace(/[\s-]/g, "");
  return /^\d+$/.test(compact) ? compact : null;
}

/** Luhn (mod 10) check: double every second digit from the right. */
export function luhnValid(digits) {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** "MM/YY" or "MM/YYYY" → {month, year} (four-digit year), or null when it is neither. */
export function parseExpiry(text) {
  const match = /^\s*(\d{2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(String(text ?? ""));
  if (!match) return null;
  const month = Number(match[1]);
  const year = match[2].length === 2 ? 2000 + Number(match[2]) : Number(match[2]);
  if (month < 1 || month > 12) return null;
  return { month, year };
}

/** A card is good through the last day of its expiry month. */
export function expiryInFuture(expiry, today) {
  const thisMonth = today.getFullYear() * 12 + today.getMonth();
  return expiry.year * 12 + (expiry.month - 1) >= thisMonth;
}

export function cvvValid(text) {
  return /^\d{3,4}$/.test(String(text ?? "").trim());
}

/** An e-mail address or a phone number, loosely: the server decides the fine print. */
export function contactValid(text) {
  const value = String(text ?? "").trim();
  const email = /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
  const phone = /^\+?[\d\s().-]{6,20}$/.test(value) && (value.match(/\d/g) ?? []).length >= 6;
  return email || phone;
}

/** An error message for one cart quantity, or "" when it is an integer in QUANTITY_MIN..QUANTITY_MAX. */
export function quantityError(value) {
  const number = typeof value === "number" ? value : Number(String(value ?? "").trim() || Number.NaN);
  if (!Number.isInteger(number)) return "Quantity must be a whole number";
  if (number < QUANTITY_MIN || number > QUANTITY_MAX) {
    return `Quantity must be between ${QUANTITY_MIN} and ${QUANTITY_MAX}`;
  }
  return "";
}

const REQUIRED = Object.freeze({
  userName: "Enter your name",
  contact: "Enter an e-mail address or a phone number",
  cardNumber: "Enter the card number",
  expiry: "Enter the expiry date",
  cvv: "Enter the CVV",
  street: "Enter the street address",
  city: "Enter the city",
  zip: "Enter the postal code",
  country: "Enter the country",
});

/**
 * Checks the checkout form's values ({userName, contact, cardNumber, expiry, cvv, street, city, state,
 * zip, country, shippingMethod, giftWrapping, termsAccepted}) and the cart's items.
 * Returns {field: message} for every field in error (empty when the order may be sent).
 */
export function validateCheckout(values, items, today) {
  const errors = {};
  for (const [field, message] of Object.entries(REQUIRED)) {
    if (!String(values[field] ?? "").trim()) errors[field] = message;
  }
  if (!errors.contact && !contactValid(values.contact)) {
    errors.contact = "Enter a valid e-mail address or phone number";
  }
  if (!errors.cardNumber) {
    const digits = cardDigits(values.cardNumber);
    if (digits === null || digits.length < CARD_DIGITS_MIN || digits.length > CARD_DIGITS_MAX) {
      errors.cardNumber = `A card number has ${CARD_DIGITS_MIN} to ${CARD_DIGITS_MAX} digits`;
    } else if (!luhnValid(digits)) {
      errors.cardNumber = "Invalid credit card number (check digit does not match)";
    }
  }
  if (!errors.expiry) {
    const expiry = parseExpiry(values.expiry);
    if (expiry === null) errors.expiry = "Use MM/YY or MM/YYYY";
    else if (!expiryInFuture(expiry, today)) errors.expiry = "This card has expired";
  }
  if (!errors.cvv && !cvvValid(values.cvv)) errors.cvv = "The CVV is 3 or 4 digits";
  if (!SHIPPING_METHODS.includes(values.shippingMethod)) errors.shippingMethod = "Choose a shipping method";
  if (!values.termsAccepted) errors.termsAccepted = "Accept the terms and conditions to order";
  if (!items.length) errors.items = "Your cart is empty";
  else {
    const bad = items.find((item) => quantityError(item.quantity));
    if (bad) errors.items = `${bad.title ?? bad.bookId}: ${quantityError(bad.quantity)}`;
  }
  return errors;
}

/** The checkout request of the orchestrator's API (docs/design.md §7) from the form's values and the cart. */
export function checkoutRequest(values, items) {
  return {
    items: items.map((item) => ({ bookId: item.bookId, quantity: item.quantity })),
    user: { name: values.userName.trim(), contact: values.contact.trim() },
    creditCard: {
      number: cardDigits(values.cardNumber) ?? values.cardNumber,
      expirationDate: values.expiry.trim(),
      cvv: values.cvv.trim(),
    },
    billingAddress: {
      street: values.street.trim(), city: values.city.trim(), state: values.state.trim(),
      zip: values.zip.trim(), country: values.country.trim(),
    },
    shippingMethod: values.shippingMethod,
    giftWrapping: Boolean(values.giftWrapping),
    termsAndConditionsAccepted: Boolean(values.termsAccepted),
  };
}
