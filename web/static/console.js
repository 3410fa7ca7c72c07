// Staff console: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // <form data-confirm="question">: ask before submitting (closing a request, disabling an account).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  // <input type=checkbox data-check-all="name">: tick or untick every checkbox called `name`.
  document.querySelectorAll("input[data-check-all]").forEach(function (master) {
    var name = master.getAttribute("data-check-all");
    master.addEventListener("change", function () {
      document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
        box.checked = master.checked;
      });
    });
  });

  // <select data-autosubmit>: apply a filter as soon as it is chosen.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) {
        select.form.submit();
      }
    });
  });

  // [data-refresh="30"]: reload the page every 30 s (the handoff queue), unless staff are typing.
  var refreshing = document.querySelector("[data-refresh]");
  if (refreshing) {
    var seconds = parseInt(refreshing.getAttribute("data-refresh"), 10) || 30;
    window.setInterval(function () {
      var active = document.activeElement;
      var typing = active && (active.tagName === "TEXTAREA" || active.tagName === "INPUT") && active.value;
      if (!typing && document.visibilityState === "visible") {
        window.location.reload();
      }
    }, seconds * 1000);
  }
})();
