// Keyboard shortcuts: plain JavaScript, no build step. Never fires while typing in a field.
(function () {
  const items = Array.from(document.querySelectorAll("article.item"));
  let current = Math.max(0, items.findIndex((el) => location.hash === "#" + el.id));
  const focus = (i) => { if (items[i]) { current = i; items[i].focus(); } };
  const click = (sel) => { const el = items[current] && items[current].querySelector(sel); if (el) el.focus(), el.click(); };
  document.addEventListener("keydown", (ev) => {
    if (ev.target.matches("input, select, textarea") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const keys = {
      j: () => focus(current + 1), k: () => focus(current - 1), r: () => click("button.reveal, button.reveal-colour"), // one step further each press
      c: () => { const s = items[current] && items[current].querySelector("form.confirm select"); if (s) s.focus(); },
      x: () => { const s = items[current] && items[current].querySelector("form.reject input[name=reason]"); if (s) s.focus(); },
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
