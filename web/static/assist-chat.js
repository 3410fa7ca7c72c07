/* Citizen assistant chat: the kiosk page and the portal widget share this one file.
 * Kiosk:  <section id="assist-chat" data-mode="kiosk"> is filled in; nothing is kept in storage.
 * Widget: <script src=".../assist-chat.js" data-mode="widget"> adds a chat bubble to any page and
 *         keeps the conversation in sessionStorage so it survives a reload.
 * Every bot text is inserted with textContent: no HTML from the server is ever rendered. */
(function () {
  "use strict";
  var script = document.currentScript;
  var mode = (script && script.getAttribute("data-mode")) || "kiosk";
  var apiUrl = new URL("/api/chat", script ? script.src : location.href).toString();
  var baseUrl = new URL("/", script ? script.src : location.href).toString();
  var POLL_MS = 5000;
  var STORE = "assist-chat-v1";

  var UI = {
    vi: { placeholder: "Nhập câu hỏi của bạn…", send: "Gửi", typing: "Trợ lý đang trả lời…", open: "Hỏi trợ lý",
          close: "Đóng", error: "Không kết nối được trợ lý. Vui lòng thử lại.", heading: "Trợ lý thủ tục hành chính",
          welcome: "Xin chào! Bạn cần làm thủ tục gì? Ví dụ: \"đăng ký khai sinh cho con\".",
          code: "Mã thủ tục", docs: "Giấy tờ cần có", fee: "Lệ phí", time: "Thời gian", where: "Nơi nộp", portal: "Mở trên Cổng Dịch vụ công",
          reference: "Mã tra cứu", print: "In phiếu", ticket: "Số thứ tự", staff: "Cán bộ" },
    en: { placeholder: "Type your question…", send: "Send", typing: "The assistant is typing…", open: "Ask the assistant",
          close: "Close", error: "Could not reach the assistant. Please try again.", heading: "Public services assistant",
          welcome: "Hello! What do you need to do? For example: \"register my baby's birth\".",
          code: "Procedure code", docs: "Documents you need", fee: "Fee", time: "Processing time", where: "Where to file", portal: "Open on the Public Service Portal",
          reference: "Reference", print: "Print checklist", ticket: "Your number", staff: "Staff" },
    bn: { placeholder: "আপনার প্রশ্ন লিখুন…", send: "পাঠান", typing: "সহকারী উত্তর দিচ্ছে…", open: "সহকারীকে জিজ্ঞাসা করুন",
          close: "বন্ধ", error: "সহকারীর সাথে সংযোগ হয়নি। আবার চেষ্টা করুন।", heading: "সরকারি সেবা সহকারী",
          welcome: "নমস্কার! আপনি কী করতে চান? যেমন: \"শিশুর জন্ম নিবন্ধন\"।",
          code: "প্রক্রিয়া কোড", docs: "প্রয়োজনীয় কাগজপত্র", fee: "ফি", time: "সময়", where: "কোথায় জমা দেবেন", portal: "পাবলিক সার্ভিস পোর্টালে খুলুন",
          reference: "রেফারেন্স", print: "চেকলিস্ট প্রিন্ট করুন", ticket: "আপনার নম্বর", staff: "কর্মী" }
  };

  function newSender() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function Chat(root, options) {
    this.root = root;
    this.persist = options.persist;
    var saved = this.persist ? this.load() : null;
    // lang is sent only once the citizen picked one; until then the bot detects it from the text.
    this.state = saved || { sender: newSender(), lang: "vi", chosen: false, handoff: false, log: [] };
    this.build();
    if (this.state.log.length) {
      this.state.log.forEach(function (entry) { this.render(entry, false); }, this);
    } else {
      this.addBot({ text: this.t("welcome") }, false);
    }
  }

  Chat.prototype.t = function (key) { return (UI[this.state.lang] || UI.vi)[key]; };

  Chat.prototype.load = function () {
    try { return JSON.parse(sessionStorage.getItem(STORE)); } catch (e) { return null; }
  };

  Chat.prototype.save = function () {
    if (!this.persist) return;
    try { sessionStorage.setItem(STORE, JSON.stringify(this.state)); } catch (e) { /* storage full: keep going */ }
  };

  Chat.prototype.build = function () {
    this.log = el("div", "chat-log");
    this.log.setAttribute("role", "log");
    this.log.setAttribute("aria-live", "polite");
    this.typing = el("p", "chat-typing", this.t("typing"));
    this.typing.hidden = true;
    var form = el("form", "chat-form");
    this.input = el("input", "chat-input");
    this.input.type = "text";
    this.input.setAttribute("aria-label", this.t("placeholder"));
    this.input.placeholder = this.t("placeholder");
    this.input.maxLength = 1000;
    this.input.autocomplete = "off";
    this.sendButton = el("button", "chat-send", this.t("send"));
    this.sendButton.type = "submit";
    form.appendChild(this.input);
    form.appendChild(this.sendButton);
    var self = this;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value.trim();
      if (!text) return;
      self.input.value = "";
      self.send(text, text);
    });
    this.root.appendChild(this.log);
    this.root.appendChild(this.typing);
    this.root.appendChild(form);
  };

  Chat.prototype.setLang = function (lang, chosen) {
    if (!UI[lang]) return;
    this.state.lang = lang;
    if (chosen) this.state.chosen = true;
    if (this.onLang) this.onLang(lang);
    this.input.placeholder = this.t("placeholder");
    this.input.setAttribute("aria-label", this.t("placeholder"));
    this.sendButton.textContent = this.t("send");
    this.typing.textContent = this.t("typing");
    this.save();
  };

  Chat.prototype.render = function (entry, scroll) {
    var node;
    if (entry.from === "user") {
      node = el("div", "msg msg-user", entry.text);
    } else {
      node = el("div", "msg msg-bot");
      var custom = entry.custom || {};
      // A whole-procedure answer becomes a card; a follow-up ("how much is it?") stays a short text.
      if (entry.from === "staff") node.className = "msg msg-staff";
      if (custom.type === "procedure" && (custom.aspect || "all") === "all") node.appendChild(this.card(custom));
      else if (entry.text) node.appendChild(el("p", "msg-text", entry.text));
      if (custom.type === "filing_draft") node.appendChild(this.draft(custom));
      if (custom.type === "handoff" && custom.ticket) {
        node.appendChild(el("p", "msg-ticket", this.t("ticket") + ": " + custom.ticket));
      }
      if (entry.buttons && entry.buttons.length) node.appendChild(this.buttons(entry.buttons));
    }
    this.log.appendChild(node);
    if (scroll !== false) node.scrollIntoView({ block: "end" });
  };

  Chat.prototype.card = function (c) {
    var card = el("article", "card");
    card.appendChild(el("h2", "card-title", c.title));
    card.appendChild(el("p", "card-code", this.t("code") + ": " + c.code));
    if (c.summary) card.appendChild(el("p", "card-summary", c.summary));
    if (c.documents && c.documents.length) {
      card.appendChild(el("h3", null, this.t("docs")));
      var list = el("ul", "card-docs");
      c.documents.forEach(function (d) {
        var item = el("li", null, d.name + (d.quantity ? " — " + d.quantity : ""));
        if (d.when) item.appendChild(el("span", "card-when", " (" + d.when + ")"));
        list.appendChild(item);
      });
      card.appendChild(list);
    }
    var facts = el("dl", "card-facts");
    [["fee", c.fee], ["time", c.processing_time], ["where", c.where]].forEach(function (pair) {
      facts.appendChild(el("dt", null, this.t(pair[0])));
      facts.appendChild(el("dd", null, pair[1]));
    }, this);
    card.appendChild(facts);
    var online = el("p", "card-online card-online-" + c.online, c.online_text);
    card.appendChild(online);
    if (c.portal_url && c.online !== "none") {
      var link = el("a", "card-portal", this.t("portal"));
      link.href = c.portal_url;
      link.target = "_blank";
      link.rel = "noopener";
      card.appendChild(link);
    }
    return card;
  };

  Chat.prototype.draft = function (d) {
    var box = el("div", "draft");
    box.appendChild(el("p", "draft-reference", this.t("reference") + ": " + d.reference));
    if (d.qr) {
      var img = el("img", "draft-qr");
      img.src = new URL(d.qr, baseUrl).toString();
      img.alt = "QR " + (d.portal_url || "");
      img.width = 180;
      img.height = 180;
      box.appendChild(img);
    }
    if (d.print) {
      var link = el("a", "draft-print", this.t("print"));
      link.href = new URL(d.print, baseUrl).toString();
      link.target = "_blank";
      link.rel = "noopener";
      box.appendChild(link);
    }
    return box;
  };

  Chat.prototype.buttons = function (buttons) {
    var box = el("div", "msg-buttons");
    var self = this;
    buttons.forEach(function (b) {
      var button = el("button", "choice", b.title);
      button.type = "button";
      button.addEventListener("click", function () { self.send(b.payload, b.title); });
      box.appendChild(button);
    });
    return box;
  };

  Chat.prototype.addBot = function (message, keep) {
    var entry = { from: message.from || "bot", text: message.text, buttons: message.buttons || [], custom: message.custom || null };
    var custom = entry.custom || {};
    // The bot answers in the language it detected or was asked for: the screen follows.
    if (custom.type === "language") this.setLang(custom.lang, true);
    else if (custom.lang && custom.lang !== this.state.lang) this.setLang(custom.lang, false);
    if (custom.type === "handoff" && custom.ticket) { this.state.handoff = true; this.poll(); }
    if (keep !== false) { this.state.log.push(entry); this.save(); }
    this.render(entry);
  };

  Chat.prototype.send = function (message, shown) {
    var entry = { from: "user", text: shown };
    this.state.log.push(entry);
    this.save();
    this.render(entry);
    this.typing.hidden = false;
    var self = this;
    fetch(apiUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(this.request(message))
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      self.typing.hidden = true;
      if (!result.ok) {
        self.addBot({ text: (result.body.error && result.body.error.message) || self.t("error") }, false);
        return;
      }
      result.body.messages.forEach(function (m) { self.addBot(m); });
    }).catch(function () {
      self.typing.hidden = true;
      self.addBot({ text: self.t("error") }, false);
    });
  };

  Chat.prototype.request = function (message) {
    var body = { sender: this.state.sender, message: message, channel: mode === "kiosk" ? "kiosk" : "portal" };
    if (this.state.chosen) body.lang = this.state.lang;
    return body;
  };

  // While staff handle the conversation, their messages are fetched every few seconds.
  Chat.prototype.poll = function () {
    if (this.polling) return;
    var self = this;
    this.polling = setInterval(function () {
      fetch(new URL("/api/chat/updates?sender=" + encodeURIComponent(self.state.sender), baseUrl).toString())
        .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
        .then(function (body) {
          body.messages.forEach(function (m) { self.addBot({ from: "staff", text: self.t("staff") + " " + m.author + ": " + m.text }); });
        })
        .catch(function () { /* the server is back on the next tick */ });
    }, POLL_MS);
  };

  function startKiosk() {
    var root = document.getElementById("assist-chat");
    if (!root) return;
    var chat = new Chat(root, { persist: false });
    var heading = document.querySelector("[data-i18n=heading]");
    document.querySelectorAll(".lang-switch [data-lang]").forEach(function (button) {
      button.addEventListener("click", function () {
        var lang = button.getAttribute("data-lang");
        chat.setLang(lang, true);
      });
    });
    chat.onLang = function (lang) {
      document.documentElement.lang = lang;
      if (heading) heading.textContent = chat.t("heading");
      document.querySelectorAll(".lang-switch [data-lang]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.getAttribute("data-lang") === lang));
      });
    };
  }

  function startWidget() {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = new URL("assist.css", script.src).toString();
    document.head.appendChild(css);
    var bubble = el("button", "assist-bubble", "💬");
    bubble.type = "button";
    var panel = el("section", "assist-panel chat");
    panel.hidden = true;
    document.body.appendChild(panel);
    document.body.appendChild(bubble);
    var chat = new Chat(panel, { persist: true });
    bubble.setAttribute("aria-label", chat.t("open"));
    bubble.addEventListener("click", function () {
      panel.hidden = !panel.hidden;
      if (!panel.hidden) chat.input.focus();
    });
    if (chat.state.log.length) panel.hidden = false;
    if (chat.state.handoff) chat.poll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mode === "widget" ? startWidget : startKiosk);
  } else {
    (mode === "widget" ? startWidget : startKiosk)();
  }
})();
