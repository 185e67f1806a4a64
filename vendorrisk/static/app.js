// Progressive enhancement only: every page works without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  // Move focus to the error summary so screen readers announce it (GOV.UK pattern).
  var summary = document.querySelector("[data-autofocus]");
  if (summary) { summary.focus(); }
  // Copy buttons for invitation links.
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var target = document.getElementById(btn.getAttribute("data-copy"));
      if (target && navigator.clipboard) {
        navigator.clipboard.writeText(target.textContent.trim()).then(function () { btn.textContent = "コピーしました"; });
      }
    });
  });
  // Character counters for limited text fields.
  document.querySelectorAll("textarea[maxlength], input[maxlength][data-count]").forEach(function (el) {
    var out = document.createElement("p");
    out.className = "char-count"; out.setAttribute("aria-live", "polite");
    el.insertAdjacentElement("afterend", out);
    var update = function () { out.textContent = "残り " + (el.maxLength - el.value.length) + " 文字"; };
    el.addEventListener("input", update); update();
  });
  // A table wider than the screen scrolls inside its wrapper: make that region reachable and
  // scrollable from the keyboard, named after the heading above it (WCAG 2.1.1).
  var wraps = document.querySelectorAll(".table-wrap");
  var label = function (wrap) {
    var el = wrap.previousElementSibling;
    while (el && !/^H[1-6]$/.test(el.tagName)) { el = el.previousElementSibling; }
    return el ? el.textContent.trim() + "（表）" : "表";
  };
  var mark = function () {
    wraps.forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth) {
        wrap.setAttribute("tabindex", "0"); wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", label(wrap));
      } else {
        wrap.removeAttribute("tabindex"); wrap.removeAttribute("role"); wrap.removeAttribute("aria-label");
      }
    });
  };
  mark();
  window.addEventListener("resize", mark);
});
