// Keyboard shortcuts: plain JavaScript, no build step. Never fires while typing in a field (but Enter
// in a reject reason decides and goes on). Every rule stays on the server: a near match not yet revealed
// is refused there (the page shows why), and so is an item someone else decided first.
(function () {
  const items = Array.from(document.querySelectorAll("article.item"));
  let current = Math.max(0, items.findIndex((el) => location.hash === "#" + el.id));
  const focus = (i) => { if (items[i]) { current = i; items[i].focus(); } };
  const here = (sel) => items[current] && items[current].querySelector(sel);
  const click = (sel) => { const el = here(sel); if (el) el.focus(), el.click(); };
  const CHOICES = ["remove", "restrict", "preserve", "report", "add_to_bank"];
  const hidden = (form, name, value) => {
    const input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value; form.appendChild(input);
  };
  // Decide and next: the server goes to the next pending item, or concludes the case with the choices the
  // Conclude form shows (copied here, so it is exactly what Submit & Next would send) and opens the next case.
  const andNext = (form) => {
    if (form.querySelector("input[name=and_next]")) return; // already on its way
    hidden(form, "and_next", "true");
    const conclude = document.getElementById("conclude-form");
    if (!conclude) return;
    for (const el of Array.from(conclude.elements)) {
      if (!CHOICES.includes(el.name) || (el.type === "checkbox" && !el.checked)) continue;
      hidden(form, el.name, el.value);
    }
    hidden(form, "conclude_choice", "true");
  };
  const confirm = () => {
    const form = here("form.confirm");
    if (!form) return;
    const select = form.querySelector("select");
    if (select.dataset.known && select.value) { andNext(form); form.requestSubmit(); } // the classification shown
    else select.focus(); // nothing known: the reviewer chooses, then Tab and Enter
  };
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.target.matches("form.reject input[name=reason]")) { andNext(ev.target.form); return; }
    if (ev.target.matches("input, select, textarea") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const keys = {
      j: () => focus(current + 1), k: () => focus(current - 1), r: () => click("button.reveal, button.reveal-colour"), // one step further each press
      c: confirm,
      C: () => { const s = here("form.confirm select"); if (s) s.focus(); }, // Shift+C: change the classification
      x: () => { const s = here("form.reject input[name=reason]"); if (s) s.focus(); },
      e: () => { const b = document.getElementById("escalate"); if (b) b.focus(); },
      h: () => { const b = document.getElementById("hide"); if (b) b.click(); },
      // Submit & Next: conclude with the choices shown and open the next case; "n" alone takes the next case.
      s: () => { const b = document.getElementById("conclude-next"); if (b) b.click(); },
      n: () => { const f = document.getElementById("next-case-form"); if (f) f.submit(); },
    };
    if (keys[ev.key]) { ev.preventDefault(); keys[ev.key](); }
  });
  focus(current);
})();
