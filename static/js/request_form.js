// Progressive enhancement of the access request form: the page works without it.
// - shows "Start at" only when "Later" is chosen;
// - when the target changes, fetches its policy panel and fills in its usual duration;
// - marks justification and ticket required (red star, required, aria-required) as the chosen
//   policy requires them, and puts the policy's ticket hint in the ticket's help text.
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

  var endsAt = form.querySelector("input[name=ends_at]");

  function setRequired(name, required) {
    var control = form.querySelector("[name=" + name + "]");
    var label = form.querySelector("label[for='" + (control && control.id) + "']");
    if (!control || !label) { return; }
    control.required = required;
    if (required) { control.setAttribute("aria-required", "true"); }
    else { control.removeAttribute("aria-required"); }
    var star = label.querySelector(".req");
    if (required && !star) {
      star = document.createElement("span");
      star.className = "req";
      star.title = window.gettext ? window.gettext("required") : "required";
      star.textContent = "*";
      label.appendChild(document.createTextNode(" "));
      label.appendChild(star);
    } else if (!required && star) {
      if (star.previousSibling && star.previousSibling.nodeType === 3) {
        star.previousSibling.textContent = star.previousSibling.textContent.replace(/\s+$/, "");
      }
      star.remove();
    }
  }

  function setTicketHelp(text) {
    var control = form.querySelector("[name=ticket]");
    if (!control || !text) { return; }
    var id = control.id + "_helptext";
    var help = document.getElementById(id);
    if (!help) {
      help = document.createElement("span");
      help.className = "helptext";
      help.id = id;
      control.insertAdjacentElement("afterend", help);
    }
    help.textContent = text;
  }

  function applyMarks(panel) {
    var on = function (name) { return !!panel && panel.getAttribute(name) === "1"; };
    setRequired("justification", on("data-require-justification"));
    setRequired("ticket", on("data-require-ticket"));
    if (panel) { setTicketHelp(panel.getAttribute("data-ticket-help")); }
  }

  function applyPolicy(panel) {
    applyMarks(panel);
    if (!duration || !panel) { return; }
    var max = panel.getAttribute("data-max-hours");
    var usual = panel.getAttribute("data-default-hours");
    if (max) { duration.max = max; } else { duration.removeAttribute("max"); }
    // Not over what the person typed, nor beside an end they gave instead.
    if (usual && !durationTouched && !(endsAt && endsAt.value)) { duration.value = usual; }
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
