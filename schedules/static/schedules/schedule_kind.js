// Show only the fields of the chosen schedule kind; the others stay in the page (and are ignored on save).
"use strict";
(function () {
  const rowsByKind = {
    cron: [".field-cron"],
    every: [".field-every", ".field-period"],
    once: [".field-once"],
    solar: [".field-solar_event", ".field-latitude", ".field-longitude"],
  };
  function rowOf(selector) {
    const element = document.querySelector(selector);
    return element ? element.closest(".form-row") || element : null;
  }
  function update() {
    const chosen = document.querySelector("input[name=schedule_kind]:checked");
    if (!chosen) return;
    for (const [kind, selectors] of Object.entries(rowsByKind)) {
      for (const selector of selectors) {
        const row = rowOf(selector);
        if (row) row.hidden = kind !== chosen.value;
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    for (const input of document.querySelectorAll("input[name=schedule_kind]")) {
      input.addEventListener("change", update);
    }
    update();
  });
})();
