// Portal forms, progressive enhancement (the pages work without it):
// - a field's error goes once the person edits that field: its message, the red border and
//   aria-invalid are removed (the server checks everything again on submit);
// - a select marked data-autosubmit (the language switcher) sends its form when changed;
// - the inputs of a ".duration-pair" (a duration, or an end instead) are alternatives: typing
//   into one empties the other and clears its error, so the value sent is the one in view.
(function () {
  "use strict";

  function clearError(field) {
    if (!field || !field.classList.contains("has-error")) { return; }
    field.classList.remove("has-error");
    field.querySelectorAll(".errorlist").forEach(function (list) { list.remove(); });
    field.querySelectorAll("[aria-invalid]").forEach(function (control) {
      control.removeAttribute("aria-invalid");
      var described = (control.getAttribute("aria-describedby") || "").split(/\s+/)
        .filter(function (id) { return id && !/_error$/.test(id); });
      if (described.length) {
        control.setAttribute("aria-describedby", described.join(" "));
      } else {
        control.removeAttribute("aria-describedby");
      }
    });
  }

  function fieldOf(control) {
    return control.closest ? control.closest(".field") : null;
  }

  function onEdit(event) {
    var control = event.target;
    if (!control || !control.name) { return; }
    clearError(fieldOf(control));
    var pair = control.closest(".duration-pair");
    if (pair && control.value !== "") {
      pair.querySelectorAll("input").forEach(function (other) {
        if (other !== control && other.value !== "") {
          other.value = "";
          clearError(fieldOf(other));
          other.dispatchEvent(new Event("alternative-cleared", { bubbles: true }));
        }
      });
    }
  }

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
    var go = select.form.querySelector(".language-switcher-go");
    if (go) { go.hidden = true; }
  });

  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("input", onEdit);
    form.addEventListener("change", onEdit);
  });
})();
