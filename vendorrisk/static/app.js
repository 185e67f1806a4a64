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
  // Autosave of the section page: the changed questions, every few seconds and on leaving a field.
  document.querySelectorAll("form[data-autosave]").forEach(setupAutosave);
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

function setupAutosave(form) {
  var url = form.getAttribute("data-autosave");
  var status = form.querySelector("[data-autosave-status]");
  var changed = {};
  var busy = false;
  var timer = null;
  var pending = null; // a button pressed while an autosave was on its way: pressed again after it

  // The question a control belongs to: its name up to the first "-" (q_x-name, q_x-0-field).
  function questionOf(el) {
    if (!el.name || el.name.indexOf("q_") !== 0 || el.type === "file") { return null; }
    return el.name.split("-")[0];
  }
  function show(text) { if (status) { status.textContent = text; } }
  function fieldError(name, message) {
    var group = document.getElementById(name + "-group");
    if (!group) { return; }
    var p = group.querySelector("[data-autosave-error]");
    if (!p) {
      p = document.createElement("p");
      p.className = "error-message"; p.setAttribute("data-autosave-error", "");
      group.insertBefore(p, group.firstChild);
    }
    p.textContent = message;
  }
  function clearError(name) {
    var group = document.getElementById(name + "-group");
    var p = group && group.querySelector("[data-autosave-error]");
    if (p) { p.remove(); }
  }
  function save() {
    var names = Object.keys(changed);
    if (busy || names.length === 0) { return; }
    busy = true; changed = {};
    var body = new FormData();
    var all = new FormData(form);
    all.forEach(function (value, key) {
      var q = key.split("-")[0];
      if (key === "csrf_token" || (names.indexOf(q) >= 0 && typeof value === "string")) { body.append(key, value); }
    });
    names.forEach(function (name) {
      body.append("_changed", name);
      var base = form.querySelector('input[name="_v_' + name + '"]');
      if (base) { body.append("_v_" + name, base.value); }
    });
    fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (res) { return res.json().then(function (data) { return { ok: res.ok, data: data }; }); })
      .then(function (r) {
        if (!r.ok) {
          if (r.data.retry) { names.forEach(function (n) { changed[n] = true; }); } // saved again at the next tick
          show(r.data.error || "保存できませんでした。「保存して次へ」を押して保存してください。");
          return;
        }
        Object.keys(r.data.versions || {}).forEach(function (name) {
          var base = form.querySelector('input[name="_v_' + name + '"]');
          if (base && !(r.data.conflicts || {})[name]) { base.value = r.data.versions[name]; }
          clearError(name);
        });
        Object.keys(r.data.errors || {}).forEach(function (name) { fieldError(name, r.data.errors[name].join(" ")); });
        var conflicts = r.data.conflicts || {};
        Object.keys(conflicts).forEach(function (name) { fieldError(name, conflicts[name]); });
        if (Object.keys(conflicts).length) {
          show("別の画面で新しい回答が保存されている設問があります。設問の上の説明を確かめてください。");
        } else {
          show("保存しました（" + r.data.saved_at + "）");
        }
      })
      .catch(function () { names.forEach(function (n) { changed[n] = true; }); show("保存できませんでした。通信を確かめてください。入力内容はこの画面に残っています。"); })
      .then(function () {
        busy = false;
        if (pending) { var by = pending; pending = null; if (form.requestSubmit) { form.requestSubmit(by); } else { form.submit(); } }
      });
  }
  function mark(ev) {
    var q = questionOf(ev.target);
    if (q) { changed[q] = true; }
  }
  form.addEventListener("input", mark);
  form.addEventListener("change", mark);
  form.addEventListener("focusout", function (ev) { if (questionOf(ev.target)) { save(); } });
  // Enter in a one-line text field saves (never presses 「行を追加する」).
  form.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.key === "Enter" && t.tagName === "INPUT" && t.type !== "submit" && t.type !== "button" && questionOf(t)) {
      ev.preventDefault(); changed[questionOf(t)] = true; save();
    }
  });
  form.addEventListener("submit", function (ev) {
    if (busy) { ev.preventDefault(); pending = ev.submitter || null; return; }
    if (timer) { clearInterval(timer); timer = null; }
    // The versions the autosave received are sent with the form, so the save is not seen as stale.
  });
  timer = setInterval(save, 5000);
}
