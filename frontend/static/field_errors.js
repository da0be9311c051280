// Where a server's complaint belongs on the form: problem+json field paths and rejection reasons,
// mapped to the checkout form's fields. Pure, so the mapping is tested on its own.

/** API body path (docs/design.md §7) → form field name. */
export const API_PATH_FIELDS = Object.freeze({
  "user.name": "userName",
  "user.contact": "contact",
  "user": "userName",
  "creditCard.number": "cardNumber",
  "creditCard.expirationDate": "expiry",
  "creditCard.cvv": "cvv",
  "creditCard": "cardNumber",
  "billingAddress.street": "street",
  "billingAddress.city": "city",
  "billingAddress.state": "state",
  "billingAddress.zip": "zip",
  "billingAddress.country": "country",
  "billingAddress": "street",
  "shippingMethod": "shippingMethod",
  "giftWrapping": "giftWrapping",
  "termsAndConditionsAccepted": "termsAccepted",
  "termsAccepted": "termsAccepted",
  "items": "items",
});

/** "/creditCard/number", "#/items/0/quantity", "body.user.name", ["creditCard","cvv"] → a form field, or null. */
export function fieldForPath(path) {
  const parts = (Array.isArray(path) ? path.map(String) : String(path ?? "").split(/[/.[\]]+/))
    .map((part) => part.trim())
    .filter((part) => part && part !== "#" && part !== "body" && !/^\d+$/.test(part));
  for (let length = parts.length; length > 0; length -= 1) {
    const field = API_PATH_FIELDS[parts.slice(0, length).join(".")];
    if (field) return field;
  }
  return null;
}

// Rejection reasons are sentences ("Invalid credit card format"); the first rule that matches places it.
// Fraud verdicts stay at the form's level: they are about the order, not about one field.
const REASON_RULES = Object.freeze([
  [/fraud|suspicious|velocity|risk/i, null],
  [/cvv|cvc|security code/i, "cvv"],
  [/expir/i, "expiry"],
  [/card/i, "cardNumber"],
  [/terms/i, "termsAccepted"],
  [/contact|e-?mail|phone/i, "contact"],
  [/street/i, "street"],
  [/city/i, "city"],
  [/state/i, "state"],
  [/zip|postal/i, "zip"],
  [/country/i, "country"],
  [/billing|address/i, "street"],
  [/shipping/i, "shippingMethod"],
  [/book|item|quantit|cart|stock/i, "items"],
  [/name/i, "userName"],
]);

export function fieldForReason(reason) {
  for (const [pattern, field] of REASON_RULES) {
    if (pattern.test(reason)) return field;
  }
  return null;
}

function problemEntries(problem) {
  const list = problem?.errors ?? problem?.invalidParams ?? problem?.["invalid-params"] ?? problem?.invalid_params;
  if (Array.isArray(list)) return list;
  if (list && typeof list === "object") return Object.entries(list).map(([field, detail]) => ({ field, detail }));
  return [];
}

/**
 * Splits a problem+json body into {fields: {field: message}, general: [message]}.
 * Field paths come from `errors` (pointer/field/loc/path/name) or, failing that, a path named in `detail`.
 */
export function problemFieldErrors(problem) {
  const fields = {};
  const general = [];
  for (const entry of problemEntries(problem)) {
    const message = String(entry.detail ?? entry.message ?? entry.msg ?? entry.reason ?? "is invalid");
    const field = fieldForPath(entry.pointer ?? entry.field ?? entry.loc ?? entry.path ?? entry.name);
    if (field && !fields[field]) fields[field] = message;
    else if (!field) general.push(message);
  }
  const detail = problem?.detail ?? problem?.error?.message ?? problem?.title;
  if (!Object.keys(fields).length && detail) {
    const named = Object.keys(API_PATH_FIELDS)
      .filter((path) => path.includes(".") && String(detail).includes(path))
      .map((path) => API_PATH_FIELDS[path]);
    if (named.length) fields[named[0]] = String(detail);
    else general.push(String(detail));
  }
  return { fields, general };
}

/** Rejection reasons → {fields: {field: reason}, general: [reason]}; several reasons at one field are joined. */
export function reasonFieldErrors(reasons) {
  const fields = {};
  const general = [];
  for (const reason of reasons ?? []) {
    const field = fieldForReason(String(reason));
    if (field) fields[field] = fields[field] ? `${fields[field]}; ${reason}` : String(reason);
    else general.push(String(reason));
  }
  return { fields, general };
}
