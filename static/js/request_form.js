// Progressive enhancement of the access request form: the page works without it.
// - shows "Start at" only when "Later" is chosen;
// - when the target changes, fetches its policy panel and fills in its usual duration.
(function () {
  "use strict";
  var form = document.getElementById("request-form");
  if (!form) { return; }
  var target = form.querySelector("select[name=target]");
  var duration = form.querySelector("input[name=duration]");
  var startsAtField = document.getElementById("field-starts_at");
  var durationTouched = duration && duration.value !== "";

  function startChoice() {
    var checked = form.querySelector("input[name=start]:checked");
    return checked ? checked.value : "now";
  }

  function syncStart() {
    if (startsAtField) { startsAtField.hidden = startChoice() !== "later"; }
  }

  function applyPolicy(panel) {
    if (!duration || !panel) { return; }
    var max = panel.getAttribute("data-max-hours");
    var usual = panel.getAttribute("data-default-hours");
    if (max) { duration.max = max; } else { duration.removeAttribute("max"); }
    if (usual && !durationTouched) { duration.value = usual; }
  }

  function loadPolicy() {
    var url = form.getAttribute("data-policy-url") + "?target=" + encodeURIComponent(target.value);
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var current = document.getElementById("policy");
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var panel = holder.firstElementChild;
        if (current && panel) {
          current.replaceWith(panel);
          applyPolicy(panel);
        }
      })
      .catch(function () { /* the panel stays as it was; the server checks on submit */ });
  }

  form.querySelectorAll("input[name=start]").forEach(function (radio) {
    radio.addEventListener("change", syncStart);
  });
  if (duration) {
    duration.addEventListener("input", function () { durationTouched = true; });
  }
  if (target) { target.addEventListener("change", loadPolicy); }
  syncStart();
  applyPolicy(document.getElementById("policy"));
})();
