// Dictionaries per language (each its own module); `data-i18n="key"` elements get their text.
// Missing keys fall back to English, then to the key itself (visible in review, never blank).
export function createI18n(dictionaries, fallback = "en") {
  let current = fallback;
  function t(key, values) {
    const text = (dictionaries[current] || {})[key] ?? dictionaries[fallback][key] ?? key;
    return values ? text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? "")) : text;
  }
  function apply(root = document) {
    for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of root.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
  function use(language) {
    current = dictionaries[language] ? language : fallback;
    document.documentElement.lang = current;
    apply();
    return current;
  }
  // A value from one of the API's lists (topic, outcome, ...): its translation, or a readable form.
  function value(list, code) {
    const key = list + "." + code;
    const text = t(key);
    return text === key ? String(code).replace(/_/g, " ") : text;
  }
  return { t, apply, use, value, get language() { return current; } };
}

export function languageOf(tag) { return String(tag || "").toLowerCase().startsWith("cy") ? "cy" : "en"; }
