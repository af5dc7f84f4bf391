// django-celery-beat's periodic-task form: show the chosen crontab in words under its field.
// Moved out of the template so that the Content-Security-Policy needs no inline script.
"use strict";
{
  const $ = django.jQuery;
  const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
  const originalHelp = JSON.parse(document.getElementById("crontab-help-text").textContent);
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(() => {
    const help = $(".field-crontab .help");
    help.text(originalHelp);
    help.append($("<br>"), document.createTextNode(
      window.interpolate(
        window.gettext("Translation: %(crontab)s"),
        { crontab: readableCrontabs[$("#id_crontab").val()] },
        true
      )));
  });
}
