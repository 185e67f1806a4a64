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
});
