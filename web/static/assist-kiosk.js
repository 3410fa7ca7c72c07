/* The kiosk around the chat: language switch, large text, quick-start questions, "call staff",
 * the end of a conversation (rating, then a clean screen) and the idle timeout. The next person at
 * the kiosk must see nothing of the last one: after `data-idle-seconds` without a touch the screen,
 * the conversation and the sender id are wiped, after a visible countdown. Nothing is stored. */
(function () {
  "use strict";
  var A = window.AssistChat;
  if (!A) return;

  var TEXT = {
    vi: { large_text: "Chữ to", call_staff: "Gọi cán bộ", quick_heading: "Việc thường gặp",
          staff_request: "Tôi muốn gặp cán bộ",
          quick_birth: "Đăng ký khai sinh", quick_id: "Thẻ căn cước", quick_residence: "Đăng ký thường trú",
          quick_judicial: "Lý lịch tư pháp", quick_marriage: "Đăng ký kết hôn", quick_land: "Sổ đỏ lần đầu",
          idle_title: "Bạn còn ở đây không?",
          idle_message: "Để bảo vệ thông tin của bạn, màn hình sẽ được xoá sau {s} giây.",
          still_here: "Tôi vẫn đang dùng", end_title: "Kết thúc cuộc trò chuyện?",
          end_message: "Màn hình sẽ được xoá để người sau không thấy thông tin của bạn.",
          back: "Quay lại", finish: "Xoá màn hình và kết thúc", language: "Ngôn ngữ" },
    en: { large_text: "Large text", call_staff: "Call staff", quick_heading: "Common tasks",
          staff_request: "I would like to talk to a member of staff",
          quick_birth: "Register a birth", quick_id: "Identity card", quick_residence: "Permanent residence",
          quick_judicial: "Judicial record", quick_marriage: "Register a marriage", quick_land: "First land certificate",
          idle_title: "Are you still there?",
          idle_message: "To protect your information, the screen will be cleared in {s} seconds.",
          still_here: "I'm still here", end_title: "Finish the conversation?",
          end_message: "The screen will be cleared so that the next person sees nothing of yours.",
          back: "Go back", finish: "Clear the screen and finish", language: "Language" },
    bn: { large_text: "বড় লেখা", call_staff: "কর্মীকে ডাকুন", quick_heading: "সাধারণ কাজ",
          staff_request: "আমি একজন কর্মীর সাথে কথা বলতে চাই",
          quick_birth: "জন্ম নিবন্ধন", quick_id: "পরিচয়পত্র", quick_residence: "স্থায়ী বাসস্থান নিবন্ধন",
          quick_judicial: "বিচারিক রেকর্ড সনদ", quick_marriage: "বিবাহ নিবন্ধন", quick_land: "প্রথমবার জমির সনদ",
          idle_title: "আপনি কি এখনও আছেন?",
          idle_message: "আপনার তথ্য সুরক্ষিত রাখতে {s} সেকেন্ড পরে স্ক্রিন মুছে ফেলা হবে।",
          still_here: "আমি এখনও আছি", end_title: "কথোপকথন শেষ করবেন?",
          end_message: "স্ক্রিন মুছে ফেলা হবে, যাতে পরের জন আপনার কোনো তথ্য না দেখেন।",
          back: "ফিরে যান", finish: "স্ক্রিন মুছে শেষ করুন", language: "ভাষা" }
  };
  // What each quick-start button asks, in the language on screen: a real question, answered like a typed one.
  var QUICK = {
    birth: { vi: "đăng ký khai sinh cho trẻ mới sinh", en: "how do I register my baby's birth", bn: "নবজাতকের জন্ম নিবন্ধন কীভাবে করব" },
    id: { vi: "làm thẻ căn cước lần đầu", en: "how do I get an identity card", bn: "পরিচয়পত্র কার্ড কীভাবে করব" },
    residence: { vi: "đăng ký hộ khẩu thường trú", en: "how do I register my permanent residence", bn: "স্থায়ী বাসস্থান নিবন্ধন কীভাবে করব" },
    judicial: { vi: "xin cấp phiếu lý lịch tư pháp", en: "how do I get a judicial record certificate", bn: "বিচারিক রেকর্ড সনদ কীভাবে পাব" },
    marriage: { vi: "làm giấy đăng ký kết hôn", en: "how do we register our marriage", bn: "বিবাহ নিবন্ধন কীভাবে করব" },
    land: { vi: "làm sổ đỏ lần đầu", en: "how do I get a land-use certificate for the first time", bn: "প্রথমবার জমির ব্যবহার সনদ কীভাবে পাব" }
  };
  var DEFAULT_IDLE_S = 120;
  var WARN_S = 20;  // the countdown shows for the last 20 s (less when the timeout itself is short)
  var THANKS_MS = 2000;  // how long "thank you for your rating" shows before the screen clears

  function start() {
    var root = document.getElementById("assist-chat");
    if (!root) return;
    var html = document.documentElement;
    var chat = new A.Chat(root, { persist: false, channel: "kiosk", printable: true });
    var idleS = parseInt(document.body.getAttribute("data-idle-seconds"), 10);
    if (!(idleS > 0)) idleS = DEFAULT_IDLE_S;
    var warnS = Math.min(WARN_S, Math.max(1, Math.floor(idleS / 2)));
    var quick = document.querySelector(".quick-start");
    var large = document.getElementById("large-text");
    var dialog = document.getElementById("end-dialog");
    var dialogTitle = document.getElementById("end-title");
    var dialogMessage = document.getElementById("end-message");
    var dialogRating = document.getElementById("end-rating");
    var keepGoing = document.getElementById("end-continue");
    var finish = document.getElementById("end-finish");
    var dialogMode = null;  // "idle" | "end" while the dialog is open
    var deadline = Date.now() + idleS * 1000;
    var wipeTimer = null;

    function text(key) {
      var lang = chat.state.lang;
      return (TEXT[lang] && TEXT[lang][key]) || A.UI[lang][key] || TEXT.vi[key] || A.UI.vi[key];
    }

    function relabel(lang) {
      html.lang = lang;
      document.querySelectorAll("[data-i18n]").forEach(function (node) {
        node.textContent = text(node.getAttribute("data-i18n"));
      });
      document.querySelectorAll("[data-i18n-label]").forEach(function (node) {
        node.setAttribute("aria-label", text(node.getAttribute("data-i18n-label")));
      });
      document.querySelectorAll(".lang-switch [data-lang]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.getAttribute("data-lang") === lang));
      });
      if (dialogMode) fillDialog();
    }

    function compact() {
      if (quick) quick.classList.toggle("compact", chat.hasConversation());
    }

    // -- the tools in the header ------------------------------------------------------------
    document.querySelectorAll(".lang-switch [data-lang]").forEach(function (b) {
      b.addEventListener("click", function () { chat.setLang(b.getAttribute("data-lang"), true); });
    });
    large.addEventListener("click", function () {
      var on = !html.classList.contains("large-text");
      html.classList.toggle("large-text", on);
      large.setAttribute("aria-pressed", String(on));
    });
    document.getElementById("call-staff").addEventListener("click", function () {
      chat.send("/request_human", text("staff_request"));
    });
    document.getElementById("end-chat").addEventListener("click", function () {
      if (chat.hasConversation()) openDialog("end");
      else wipe();
    });
    document.querySelectorAll("[data-quick]").forEach(function (b) {
      b.addEventListener("click", function () {
        var question = QUICK[b.getAttribute("data-quick")][chat.state.lang];
        chat.send(question, question);
      });
    });

    // -- the end of a conversation: rating, then a clean screen ---------------------------------
    function fillDialog() {
      var idle = dialogMode === "idle";
      dialogTitle.textContent = text(idle ? "idle_title" : "end_title");
      keepGoing.textContent = text(idle ? "still_here" : "back");
      finish.textContent = text("finish");
      dialogMessage.textContent = "";
      if (idle) {
        var parts = text("idle_message").split("{s}");
        dialogMessage.appendChild(document.createTextNode(parts[0]));
        var count = A.el("strong", "countdown", A.number(secondsLeft(), chat.state.lang));
        dialogMessage.appendChild(count);
        dialogMessage.appendChild(document.createTextNode(parts[1] || ""));
      } else {
        dialogMessage.textContent = text("end_message");
      }
      dialogRating.textContent = "";
      if (chat.hasConversation() && !chat.state.rated) {
        dialogRating.appendChild(chat.rating(function () {
          wipeTimer = setTimeout(wipe, THANKS_MS);  // a moment to read "thank you", then the screen clears
        }));
      }
    }

    function openDialog(which) {
      dialogMode = which;
      fillDialog();
      if (!dialog.open) dialog.showModal();
      keepGoing.focus();
    }

    function closeDialog() {
      dialogMode = null;
      if (dialog.open) dialog.close();
    }

    keepGoing.addEventListener("click", function () { closeDialog(); activity(); });
    finish.addEventListener("click", wipe);
    dialog.addEventListener("close", function () {
      if (dialogMode) { dialogMode = null; activity(); }  // Escape: the citizen is still there
    });

    chat.onGoodbye = function () {
      if (chat.hasConversation() && !chat.state.rated) openDialog("end");
    };

    // Start over: a new sender id, an empty screen, the default language and text size.
    function wipe() {
      if (wipeTimer) clearTimeout(wipeTimer);
      wipeTimer = null;
      closeDialog();
      chat.reset();
      html.classList.remove("large-text");
      large.setAttribute("aria-pressed", "false");
      document.body.classList.remove("has-print-target");
      compact();
      if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
      window.scrollTo(0, 0);
      deadline = Date.now() + idleS * 1000;
    }

    // -- the idle timeout -------------------------------------------------------------------
    function dirty() {
      return chat.state.log.length > 0 || chat.input.value.trim() !== "" || chat.state.lang !== "vi" ||
        html.classList.contains("large-text");
    }

    function secondsLeft() {
      return Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    }

    function activity() {
      if (dialogMode === "idle") return;  // only "I'm still here" answers the question
      deadline = Date.now() + idleS * 1000;
    }

    ["pointerdown", "keydown", "input", "wheel", "touchstart"].forEach(function (name) {
      document.addEventListener(name, activity, { capture: true, passive: true });
    });
    chat.onBusy = function (busy) {
      activity();  // waiting for the assistant is not idleness; the clock starts again with its answer
      if (busy) compact();
    };

    setInterval(function () {
      // An answer being written pauses the clock; a server that is down does not (the screen must still clear).
      var waiting = chat.busy && chat.statusKey === "typing";
      if (waiting || wipeTimer || !dirty()) {
        if (dialogMode !== "idle") deadline = Date.now() + idleS * 1000;
        return;
      }
      var left = secondsLeft();
      if (left <= 0) {
        wipe();
      } else if (left <= warnS) {
        if (dialogMode !== "idle") openDialog("idle");
        var count = dialogMessage.querySelector(".countdown");
        if (count) count.textContent = A.number(left, chat.state.lang);
      }
    }, 250);

    chat.onLang = relabel;
    relabel(chat.state.lang);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
