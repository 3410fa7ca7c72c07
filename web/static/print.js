/* The printable checklist: a Print button, and a Close button when this page is a tab of its own
 * (opened from the kiosk or the widget), so the citizen gets back to the conversation. */
(function () {
  "use strict";
  var print = document.querySelector(".print-now");
  var close = document.querySelector(".print-close");
  if (print) print.addEventListener("click", function () { window.print(); });
  if (close && history.length === 1) {
    close.hidden = false;
    close.addEventListener("click", function () { window.close(); });
  }
})();
