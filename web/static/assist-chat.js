/* Citizen assistant chat: the conversation shared by the kiosk page and the portal widget.
 * Kiosk:  /kiosk loads this file, then assist-kiosk.js, which builds the chat into <section id="assist-chat">
 *         and adds the kiosk's tools (idle wipe, quick-start, large text); nothing is kept in storage.
 * Widget: <script src=".../assist-chat.js" data-mode="widget"> adds a chat bubble to any page, inside a
 *         shadow root so the host page's styles cannot reach it, and keeps the conversation in
 *         sessionStorage so it survives a reload; a message sent while the server is down is retried.
 * Every bot text is inserted with textContent: no HTML from the server is ever rendered. */
(function () {
  "use strict";
  var script = document.currentScript;
  var mode = (script && script.getAttribute("data-mode")) || "kiosk";
  var base = script ? script.src : location.href;
  var apiUrl = new URL("/api/chat", base).toString();
  var feedbackUrl = new URL("/api/feedback", base).toString();
  var baseUrl = new URL("/", base).toString();
  var POLL_MS = 5000;
  var RETRY_MS = [1000, 2000, 4000, 8000, 15000];  // then every 15 s until the assistant answers
  var STORE = "assist-chat-v2";
  var SVG = "http://www.w3.org/2000/svg";

  var UI = {
    vi: { placeholder: "Nhập câu hỏi của bạn…", send: "Gửi", typing: "Trợ lý đang trả lời…", open: "Hỏi trợ lý",
          close: "Đóng", error: "Không kết nối được trợ lý. Vui lòng thử lại.", heading: "Trợ lý thủ tục hành chính",
          reconnecting: "Đang kết nối lại với trợ lý… Tin nhắn của bạn sẽ được gửi ngay khi kết nối lại.",
          too_long: "Tin nhắn quá dài, bạn viết ngắn lại giúp tôi nhé.",
          too_fast: "Bạn gửi hơi nhanh. Vui lòng đợi một chút rồi gửi lại.",
          welcome: "Xin chào! Bạn cần làm thủ tục gì? Ví dụ: \"đăng ký khai sinh cho con\".",
          code: "Mã thủ tục", docs: "Giấy tờ cần có", fee: "Lệ phí", time: "Thời gian", where: "Nơi nộp",
          portal: "Mở trên Cổng Dịch vụ công", form: "Mẫu", fell_back: "",
          reference: "Mã tra cứu", print: "Mở phiếu để in", print_card: "In danh sách này", ticket: "Số thứ tự của bạn",
          staff: "Cán bộ", helpful: "Hữu ích", not_helpful: "Chưa hữu ích", thumbs: "Câu trả lời này có hữu ích không?",
          thanks_feedback: "Cảm ơn góp ý của bạn.", feedback_failed: "Chưa gửi được góp ý, bạn thử lại nhé.",
          rate: "Bạn chấm cuộc trò chuyện này mấy điểm? (1 = kém, 5 = rất tốt)", star: "{n} trên 5 điểm",
          rated: "Cảm ơn bạn đã đánh giá!", end: "Kết thúc", new_chat: "Bắt đầu cuộc trò chuyện mới",
          not_sent: "Chưa gửi được" },
    en: { placeholder: "Type your question…", send: "Send", typing: "The assistant is typing…", open: "Ask the assistant",
          close: "Close", error: "Could not reach the assistant. Please try again.", heading: "Public services assistant",
          reconnecting: "Reconnecting to the assistant… Your message will be sent as soon as it is back.",
          too_long: "That message is too long. Please make it shorter.",
          too_fast: "You are sending messages very quickly. Please wait a moment and send it again.",
          welcome: "Hello! What do you need to do? For example: \"register my baby's birth\".",
          code: "Procedure code", docs: "Documents you need", fee: "Fee", time: "Processing time", where: "Where to file",
          portal: "Open on the Public Service Portal", form: "Form",
          fell_back: "(Some details are only available in Vietnamese.)",
          reference: "Reference", print: "Open the checklist to print", print_card: "Print this list", ticket: "Your number",
          staff: "Staff", helpful: "Helpful", not_helpful: "Not helpful", thumbs: "Was this answer helpful?",
          thanks_feedback: "Thank you for your feedback.", feedback_failed: "Your feedback was not sent. Please try again.",
          rate: "How would you rate this conversation? (1 = poor, 5 = very good)", star: "{n} out of 5",
          rated: "Thank you for your rating!", end: "End chat", new_chat: "Start a new conversation",
          not_sent: "Not sent" },
    bn: { placeholder: "আপনার প্রশ্ন লিখুন…", send: "পাঠান", typing: "সহকারী উত্তর লিখছে…", open: "সহকারীকে জিজ্ঞাসা করুন",
          close: "বন্ধ", error: "সহকারীর সাথে সংযোগ হয়নি। আবার চেষ্টা করুন।", heading: "সরকারি সেবা সহকারী",
          reconnecting: "সহকারীর সাথে আবার সংযোগ করা হচ্ছে… সংযোগ ফিরলেই আপনার বার্তা পাঠানো হবে।",
          too_long: "বার্তাটি খুব লম্বা। একটু ছোট করে লিখুন।",
          too_fast: "আপনি খুব দ্রুত বার্তা পাঠাচ্ছেন। একটু অপেক্ষা করে আবার পাঠান।",
          welcome: "নমস্কার! আপনি কী করতে চান? যেমন: \"শিশুর জন্ম নিবন্ধন\"।",
          code: "প্রক্রিয়া কোড", docs: "প্রয়োজনীয় কাগজপত্র", fee: "ফি", time: "সময়", where: "কোথায় জমা দেবেন",
          portal: "পাবলিক সার্ভিস পোর্টালে খুলুন", form: "ফর্ম",
          fell_back: "(কিছু তথ্য শুধু ভিয়েতনামী ভাষায় আছে।)",
          reference: "রেফারেন্স", print: "প্রিন্টের জন্য চেকলিস্ট খুলুন", print_card: "এই তালিকা প্রিন্ট করুন",
          ticket: "আপনার নম্বর", staff: "কর্মী", helpful: "সহায়ক", not_helpful: "সহায়ক নয়",
          thumbs: "এই উত্তরটি কি সহায়ক ছিল?", thanks_feedback: "মতামতের জন্য ধন্যবাদ।",
          feedback_failed: "মতামত পাঠানো যায়নি। আবার চেষ্টা করুন।",
          rate: "এই কথোপকথনকে কত দেবেন? (১ = খারাপ, ৫ = খুব ভালো)", star: "৫-এর মধ্যে {n}",
          rated: "রেটিং দেওয়ার জন্য ধন্যবাদ!", end: "শেষ করুন", new_chat: "নতুন কথোপকথন শুরু করুন",
          not_sent: "পাঠানো হয়নি" }
  };
  var LANGS = ["vi", "en", "bn"];

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

  function button(className, text) {
    var node = el("button", className, text);
    node.type = "button";
    return node;
  }

  // Numbers in the citizen's script: Bengali digits for bn.
  function number(n, lang) {
    try { return n.toLocaleString(lang === "bn" ? "bn-BD" : lang); } catch (e) { return String(n); }
  }

  // Text with its https links made clickable; everything stays text (no HTML is parsed).
  function linkified(className, text) {
    var node = el("p", className);
    String(text).split(/(https:\/\/[^\s<>"]+)/).forEach(function (part, i) {
      if (i % 2 === 1) {
        var link = el("a", null, part);
        link.href = part;
        link.target = "_blank";
        link.rel = "noopener";
        node.appendChild(link);
      } else if (part) {
        node.appendChild(document.createTextNode(part));
      }
    });
    return node;
  }

  function icon(paths, className) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", className || "icon");
    paths.forEach(function (d) {
      var path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    });
    return svg;
  }
  var THUMB = ["M2 10h4v11H2z", "M8 21h9.2a2 2 0 0 0 2-1.6l1.6-7.6A2 2 0 0 0 18.8 9H14l.9-4.2A2 2 0 0 0 13 2.4L8 9z"];
  var BUBBLE = ["M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"];

  function freshState(lang) {
    return { sender: newSender(), lang: lang || "vi", chosen: false, handoff: false, rated: false, log: [], queue: [] };
  }

  /* One conversation drawn into `root`. options: persist (sessionStorage), channel ("kiosk" | "portal"),
   * printable (cards get a print button). Hooks the page may set: onLang(lang), onBusy(busy), onGoodbye(). */
  function Chat(root, options) {
    this.root = root;
    this.persist = !!options.persist;
    this.channel = options.channel || "portal";
    this.printable = !!options.printable;
    this.generation = 0;  // bumped by reset(): replies to a wiped conversation are dropped
    this.busy = false;
    var saved = this.persist ? this.load() : null;
    // lang is sent only once the citizen picked one; until then the bot detects it from the text.
    this.state = saved || freshState();
    this.build();
    this.replay();
    var self = this;
    window.addEventListener("online", function () { if (self.waiting) self.waiting(); });
  }

  Chat.prototype.t = function (key, lang) { return (UI[lang || this.state.lang] || UI.vi)[key]; };

  Chat.prototype.load = function () {
    try {
      var state = JSON.parse(sessionStorage.getItem(STORE));
      return state && state.sender && Array.isArray(state.log) ? state : null;
    } catch (e) { return null; }
  };

  Chat.prototype.save = function () {
    if (!this.persist) return;
    // The drawn node of each entry stays in memory only.
    var json = JSON.stringify(this.state, function (key, value) { return key === "node" ? undefined : value; });
    try { sessionStorage.setItem(STORE, json); } catch (e) { /* storage full: keep going */ }
  };

  Chat.prototype.build = function () {
    this.log = el("div", "chat-log");
    this.log.setAttribute("role", "log");
    this.log.setAttribute("aria-live", "polite");
    this.log.setAttribute("aria-relevant", "additions");
    this.log.tabIndex = 0;  // scrollable with the keyboard
    this.status = el("p", "chat-status");
    this.status.setAttribute("role", "status");
    this.status.hidden = true;
    var form = el("form", "chat-form");
    this.input = el("input", "chat-input");
    this.input.type = "text";
    this.input.id = "assist-input-" + this.channel;
    this.input.maxLength = 1000;
    this.input.autocomplete = "off";
    this.input.setAttribute("enterkeyhint", "send");
    this.input.setAttribute("inputmode", "text");
    this.input.setAttribute("autocapitalize", "sentences");
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
    this.root.appendChild(this.status);
    this.root.appendChild(form);
    this.relabel();
  };

  // Draw the conversation so far (a reload of the widget), or the welcome of a fresh one.
  Chat.prototype.replay = function () {
    this.welcome(this.state.greeted);
    if (this.state.log.length) {
      this.state.log.forEach(function (entry) { this.render(entry, false); }, this);
      this.markPrintable();
      this.log.scrollTop = this.log.scrollHeight;
    }
    if (this.state.handoff) this.poll();
    if (this.state.queue.length) this.next();  // sent before a reload while the server was down
  };

  // The greeting opens every conversation (in the language it was first shown in, after a reload).
  Chat.prototype.welcome = function (lang) {
    this.state.greeted = UI[lang] ? lang : this.state.lang;
    this.render({ from: "bot", text: this.t("welcome", this.state.greeted), welcome: true }, false);
  };

  Chat.prototype.hasConversation = function () {
    return this.state.log.some(function (entry) { return entry.from === "user"; });
  };

  Chat.prototype.relabel = function () {
    this.input.placeholder = this.t("placeholder");
    this.input.setAttribute("aria-label", this.t("placeholder"));
    this.input.lang = this.state.lang;  // on-screen keyboards pick their layout from it
    this.sendButton.textContent = this.t("send");
    this.showStatus(this.statusKey);
  };

  Chat.prototype.setLang = function (lang, chosen) {
    if (!UI[lang]) return;
    this.state.lang = lang;
    if (chosen) this.state.chosen = true;
    this.relabel();
    // Nothing said yet: greet again in the new language.
    if (!this.state.log.length) {
      var old = this.log.querySelector(".msg-welcome");
      if (old) old.remove();
      this.welcome();
    }
    if (this.onLang) this.onLang(lang);
    this.save();
  };

  // Start over: nothing of the previous conversation stays on screen or in memory.
  Chat.prototype.reset = function () {
    this.generation += 1;
    this.stopPolling();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.waiting = null;
    this.busy = false;
    this.log.textContent = "";
    this.input.value = "";
    this.state = freshState();
    this.save();
    this.showStatus(null);
    this.relabel();
    this.welcome();
    if (this.onLang) this.onLang(this.state.lang);
    if (this.onBusy) this.onBusy(false);
  };

  Chat.prototype.showStatus = function (key) {
    this.statusKey = key || null;
    this.status.hidden = !key;
    this.status.classList.toggle("chat-status-reconnecting", key === "reconnecting");
    this.status.textContent = key ? this.t(key) : "";
    if (key) this.log.scrollTop = this.log.scrollHeight;  // the line takes room: keep the last message in view
  };

  Chat.prototype.render = function (entry, scroll) {
    var node;
    if (entry.from === "user") {
      node = el("div", "msg msg-user");
      node.appendChild(el("p", "msg-text", entry.text));
    } else {
      node = el("div", entry.from === "staff" ? "msg msg-staff" : "msg msg-bot");
      if (entry.welcome) node.classList.add("msg-welcome");
      var custom = entry.custom || {};
      var card = this.cardFor(custom);
      // A saved draft shows its reference, QR code and print link first, then the summary.
      if (custom.type === "filing_draft") node.appendChild(this.draft(custom));
      if (card) node.appendChild(card);
      else if (entry.text) node.appendChild(linkified("msg-text", entry.text));
      if (custom.type === "handoff" && custom.ticket) {
        var ticket = el("p", "msg-ticket");
        ticket.appendChild(el("span", "msg-ticket-label", this.t("ticket")));
        ticket.appendChild(el("strong", null, String(custom.ticket)));
        node.appendChild(ticket);
      }
      if (entry.buttons && entry.buttons.length) node.appendChild(this.buttons(entry.buttons));
      if (entry.turn) node.appendChild(this.thumbs(entry));
      if (entry.rating) node.appendChild(this.rating());
    }
    entry.node = node;
    this.log.appendChild(node);
    if (scroll !== false) node.scrollIntoView({ block: "end", behavior: "smooth" });
    return node;
  };

  // A whole-procedure answer, a documents answer and the filing checklist become cards;
  // a narrow follow-up ("how much is it?") stays a short text.
  Chat.prototype.cardFor = function (c) {
    if (c.type !== "procedure") return null;
    var aspect = c.aspect || "all";
    if (aspect !== "all" && aspect !== "documents") return null;
    var lang = UI[c.lang] ? c.lang : this.state.lang;
    var card = el("article", "card" + (aspect === "all" ? "" : " card-checklist"));
    card.appendChild(el("h2", "card-title", c.title));
    card.appendChild(el("p", "card-code", this.t("code", lang) + ": " + c.code));
    if (aspect === "all" && c.summary) card.appendChild(el("p", "card-summary", c.summary));
    if (c.documents && c.documents.length) {
      card.appendChild(el("h3", null, this.t("docs", lang)));
      var list = el("ul", "card-docs");
      c.documents.forEach(function (d) {
        var item = el("li", null, d.name);
        if (d.quantity) item.appendChild(el("span", "card-quantity", " — " + d.quantity));
        if (d.when) item.appendChild(el("span", "card-when", " (" + d.when + ")"));
        if (d.template) item.appendChild(el("span", "card-form", this.t("form", lang) + ": " + d.template));
        list.appendChild(item);
      }, this);
      card.appendChild(list);
    }
    if (aspect === "all") {
      var facts = el("dl", "card-facts");
      [["fee", c.fee], ["time", c.processing_time], ["where", c.where]].forEach(function (pair) {
        if (!pair[1]) return;
        facts.appendChild(el("dt", null, this.t(pair[0], lang)));
        facts.appendChild(el("dd", null, pair[1]));
      }, this);
      card.appendChild(facts);
      if (c.online_text) card.appendChild(el("p", "card-online card-online-" + c.online, c.online_text));
    }
    if (c.fell_back && this.t("fell_back", lang)) card.appendChild(el("p", "card-note", this.t("fell_back", lang)));
    var actions = el("div", "card-actions");
    if (aspect === "all" && c.portal_url && c.online !== "none") {
      var link = el("a", "card-portal", this.t("portal", lang));
      link.href = c.portal_url;
      link.target = "_blank";
      link.rel = "noopener";
      actions.appendChild(link);
    }
    if (this.printable && c.documents && c.documents.length) {
      var print = button("card-print", this.t("print_card", lang));
      var self = this;
      print.addEventListener("click", function () { self.print(card.parentNode); });
      actions.appendChild(print);
    }
    if (actions.childNodes.length) card.appendChild(actions);
    return card;
  };

  Chat.prototype.draft = function (d) {
    var box = el("div", "draft");
    var ref = el("p", "draft-reference");
    ref.appendChild(el("span", null, this.t("reference") + ": "));
    ref.appendChild(el("strong", null, d.reference));
    box.appendChild(ref);
    if (d.qr) {
      var img = el("img", "draft-qr");
      img.src = new URL(d.qr, baseUrl).toString();
      img.alt = "QR: " + (d.portal_url || d.reference);
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
      var choice = button("choice", b.title);
      choice.addEventListener("click", function () { self.send(b.payload, b.title); });
      box.appendChild(choice);
    });
    return box;
  };

  // Thumbs up / down under an answer; the vote is stored by the server against the answer's turn.
  Chat.prototype.thumbs = function (entry) {
    var box = el("div", "thumbs");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", this.t("thumbs"));
    var note = el("span", "thumbs-note");
    note.setAttribute("role", "status");
    var self = this;
    var votes = [["up", "helpful"], ["down", "not_helpful"]].map(function (pair) {
      var vote = button("thumb thumb-" + pair[0]);
      vote.appendChild(icon(THUMB));
      vote.appendChild(el("span", null, self.t(pair[1])));
      vote.setAttribute("aria-pressed", String(entry.thumb === pair[0]));
      vote.addEventListener("click", function () {
        if (entry.thumb) return;
        votes.forEach(function (b) { b.disabled = true; });
        self.feedback({ turn: entry.turn, thumb: pair[0] }).then(function () {
          entry.thumb = pair[0];
          self.save();
          vote.setAttribute("aria-pressed", "true");
          note.textContent = self.t("thanks_feedback");
        }, function () {
          votes.forEach(function (b) { b.disabled = false; });
          note.textContent = self.t("feedback_failed");
        });
      });
      box.appendChild(vote);
      return vote;
    });
    if (entry.thumb) votes.forEach(function (b) { b.disabled = true; });
    box.appendChild(note);
    return box;
  };

  // 1-5 stars for the whole conversation; `done` runs once the rating is stored.
  Chat.prototype.rating = function (done) {
    var box = el("div", "rating");
    var label = el("p", "rating-label", this.t("rate"));
    label.id = "rating-label-" + this.channel + "-" + Math.random().toString(36).slice(2);
    box.appendChild(label);
    var row = el("div", "rating-stars");
    row.setAttribute("role", "group");
    row.setAttribute("aria-labelledby", label.id);
    var note = el("p", "rating-note");
    note.setAttribute("role", "status");
    var self = this;
    var stars = [1, 2, 3, 4, 5].map(function (n) {
      var star = button("star");
      star.setAttribute("data-rating", String(n));
      star.setAttribute("aria-label", self.t("star").replace("{n}", number(n, self.state.lang)));
      star.appendChild(el("span", "star-glyph", "★"));
      star.appendChild(el("span", "star-number", number(n, self.state.lang)));
      star.addEventListener("click", function () {
        stars.forEach(function (s) { s.disabled = true; });
        self.feedback({ rating: n }).then(function () {
          self.state.rated = true;
          self.save();
          star.setAttribute("aria-pressed", "true");
          note.textContent = self.t("rated");
          if (done) done(n);
        }, function () {
          stars.forEach(function (s) { s.disabled = false; });
          note.textContent = self.t("feedback_failed");
        });
      });
      row.appendChild(star);
      return star;
    });
    if (this.state.rated) stars.forEach(function (s) { s.disabled = true; });
    box.appendChild(row);
    box.appendChild(note);
    return box;
  };

  // The end of a conversation in the chat itself: the rating, once.
  Chat.prototype.offerRating = function () {
    if (this.state.rated || !this.hasConversation()) return;
    if (this.state.log.some(function (e) { return e.rating; })) return;
    this.addBot({ rating: true }, null, false);
  };

  Chat.prototype.feedback = function (body) {
    body.sender = this.state.sender;
    return fetch(feedbackUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) throw new Error("feedback " + response.status);
      return response;
    });
  };

  Chat.prototype.addBot = function (message, turn, scroll) {
    var entry = { from: message.from || "bot", text: message.text, buttons: message.buttons || [],
                  custom: message.custom || null };
    if (turn) entry.turn = turn;
    if (message.rating) entry.rating = true;
    var custom = entry.custom || {};
    // The bot answers in the language it detected or was asked for: the screen follows.
    if (custom.type === "language") this.setLang(custom.lang, true);
    else if (custom.lang && custom.lang !== this.state.lang) this.setLang(custom.lang, false);
    if (custom.type === "handoff" && custom.ticket) { this.state.handoff = true; this.poll(); }
    this.state.log.push(entry);
    this.save();
    this.render(entry, scroll);
    this.markPrintable();
    if (custom.type === "goodbye" && this.onGoodbye) this.onGoodbye();
  };

  // The citizen's message is shown at once and queued; messages go to the server one at a time, in order.
  Chat.prototype.send = function (message, shown) {
    var entry = { from: "user", text: shown };
    this.state.log.push(entry);
    this.state.queue.push({ message: message, shown: shown });
    this.save();
    this.render(entry);
    if (!this.busy) this.next();
  };

  Chat.prototype.next = function () {
    if (!this.state.queue.length) {
      this.busy = false;
      this.showStatus(null);
      if (this.onBusy) this.onBusy(false);
      return;
    }
    this.busy = true;
    if (this.onBusy) this.onBusy(true);
    this.post(this.state.queue[0], 0);
  };

  Chat.prototype.post = function (item, attempt) {
    var self = this;
    var generation = this.generation;
    this.waiting = null;
    if (this.statusKey !== "reconnecting") this.showStatus("typing");
    fetch(apiUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(this.request(item.message))
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; },
                                   function () { return { status: response.status, body: {} }; });
    }, function () {
      return { status: 0, body: {} };  // no answer at all: the server is restarting or the network is down
    }).then(function (result) {
      if (generation !== self.generation) return;
      if (result.status === 0 || result.status === 502 || result.status === 503 || result.status === 504) {
        self.retry(item, attempt);
        return;
      }
      self.state.queue.shift();
      self.showStatus("typing");
      if (result.status >= 200 && result.status < 300 && Array.isArray(result.body.messages)) {
        var messages = result.body.messages;
        var turn = typeof result.body.turn === "number" ? result.body.turn : null;
        // Feedback goes under the last message of an answer; a question of the filing form is no answer.
        var last = messages[messages.length - 1];
        var askOnly = last && last.custom && last.custom.type === "ask";
        var first = self.log.childNodes.length;
        messages.forEach(function (m, i) { self.addBot(m, i === messages.length - 1 && !askOnly ? turn : null, false); });
        // The top of the answer comes into view: a long card is read from its title down.
        if (self.log.childNodes[first]) self.log.childNodes[first].scrollIntoView({ block: "start", behavior: "smooth" });
      } else {
        self.refused(item, result);
      }
      self.next();
    });
  };

  // The server is unreachable or says it is down: keep the message and try again, later and later.
  Chat.prototype.retry = function (item, attempt) {
    var self = this;
    var generation = this.generation;
    this.showStatus("reconnecting");
    var delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)];
    this.waiting = function () {
      if (generation !== self.generation) return;
      clearTimeout(self.retryTimer);
      self.post(item, attempt + 1);
    };
    this.retryTimer = setTimeout(this.waiting, delay);
  };

  // The server refused the message (too long, too fast, bad input): say why and give the text back.
  Chat.prototype.refused = function (item, result) {
    var code = result.body && result.body.error && result.body.error.code;
    var key = result.status === 413 ? "too_long" : result.status === 429 ? "too_fast" : "error";
    var index = this.state.log.length - 1;
    while (index >= 0 && !(this.state.log[index].from === "user" && this.state.log[index].text === item.shown)) index--;
    if (index >= 0) {
      var entry = this.state.log[index];
      entry.failed = true;
      if (entry.node) {
        entry.node.classList.add("msg-failed");
        entry.node.appendChild(el("span", "msg-failed-note", this.t("not_sent")));
      }
    }
    if (!this.input.value && item.message === item.shown) this.input.value = item.shown;
    this.render({ from: "bot", text: this.t(key) + (key === "error" && code ? " (" + code + ")" : "") });
    this.save();
  };

  Chat.prototype.request = function (message) {
    var body = { sender: this.state.sender, message: message, channel: this.channel };
    if (this.state.chosen) body.lang = this.state.lang;
    return body;
  };

  // While staff handle the conversation, their messages are fetched every few seconds.
  Chat.prototype.poll = function () {
    if (this.polling) return;
    var self = this;
    this.polling = setInterval(function () {
      var generation = self.generation;
      fetch(new URL("/api/chat/updates?sender=" + encodeURIComponent(self.state.sender), baseUrl).toString())
        .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
        .then(function (body) {
          if (generation !== self.generation) return;
          body.messages.forEach(function (m) {
            self.addBot({ from: "staff", text: self.t("staff") + " " + m.author + ": " + m.text });
          });
        })
        .catch(function () { /* the server is back on the next tick */ });
    }, POLL_MS);
  };

  Chat.prototype.stopPolling = function () {
    if (this.polling) clearInterval(this.polling);
    this.polling = null;
  };

  // What the kiosk prints: the last card with a documents list, and the saved draft after it (reference, QR).
  Chat.prototype.markPrintable = function (only) {
    if (!this.printable) return;
    var messages = Array.prototype.slice.call(this.log.querySelectorAll(".msg"));
    messages.forEach(function (m) { m.classList.remove("print-target"); });
    var targets = [];
    if (only) {
      targets = [only];
    } else {
      var card = -1;
      messages.forEach(function (m, i) { if (m.querySelector(".card-docs")) card = i; });
      if (card >= 0) {
        targets.push(messages[card]);
        for (var i = card + 1; i < messages.length; i++) if (messages[i].querySelector(".draft")) targets.push(messages[i]);
      }
    }
    targets.forEach(function (m) { m.classList.add("print-target"); });
    document.body.classList.toggle("has-print-target", targets.length > 0);
  };

  // window.print() returns once the print dialog is closed (Chromium, the kiosks' browser).
  Chat.prototype.print = function (message) {
    this.markPrintable(message);
    window.print();
    this.markPrintable();
  };

  function startWidget() {
    // A custom element as the host: the page's rules for div, section, button... cannot match it.
    var host = document.createElement("assist-widget");
    host.id = "assist-widget";
    var shadow = host.attachShadow({ mode: "open" });
    // Shown once its styles are in (no flash of a bare panel); then the log can scroll to the latest message.
    host.hidden = true;
    var pending = 2;
    function styled() {
      pending -= 1;
      if (pending) return;
      host.hidden = false;
      if (!panel.hidden) chat.log.scrollTop = chat.log.scrollHeight;
    }
    ["assist-chat.css", "widget.css"].forEach(function (name) {
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = new URL(name, script.src).toString();
      css.addEventListener("load", styled);
      css.addEventListener("error", styled);  // unstyled is better than nothing
      shadow.appendChild(css);
    });
    var bubble = button("assist-bubble");
    bubble.appendChild(icon(BUBBLE));
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-controls", "assist-panel");
    var panel = el("section", "assist-panel");
    panel.id = "assist-panel";
    panel.hidden = true;
    var header = el("header", "assist-panel-header");
    var title = el("h2", "assist-panel-title");
    title.id = "assist-panel-title";
    panel.setAttribute("aria-labelledby", title.id);
    var end = button("assist-end");
    var close = button("assist-close", "×");
    header.appendChild(title);
    header.appendChild(end);
    header.appendChild(close);
    var body = el("div", "chat assist-chat");
    panel.appendChild(header);
    panel.appendChild(body);
    shadow.appendChild(panel);
    shadow.appendChild(bubble);
    document.body.appendChild(host);

    var chat = new Chat(body, { persist: true, channel: "portal" });
    function label() {
      bubble.setAttribute("aria-label", chat.t("open"));
      bubble.title = chat.t("open");
      title.textContent = chat.t("heading");
      end.textContent = chat.t("end");
      close.setAttribute("aria-label", chat.t("close"));
      close.title = chat.t("close");
      panel.lang = chat.state.lang;
    }
    function show(open, focus) {
      panel.hidden = !open;
      bubble.setAttribute("aria-expanded", String(open));
      chat.state.open = open;
      chat.save();
      if (open) chat.log.scrollTop = chat.log.scrollHeight;  // the latest messages, also after a reload
      if (open && focus) chat.input.focus();
      if (!open && focus) bubble.focus();
    }
    chat.onLang = label;
    chat.onGoodbye = function () { chat.offerRating(); };
    label();
    bubble.addEventListener("click", function () { show(panel.hidden, true); });
    close.addEventListener("click", function () { show(false, true); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") show(false, true);
    });
    // "End chat": the rating, then a clean slate on request.
    end.addEventListener("click", function () {
      chat.offerRating();
      var fresh = button("choice assist-new", chat.t("new_chat"));
      fresh.addEventListener("click", function () { chat.reset(); show(true, true); });
      var note = el("div", "msg msg-bot msg-end");
      note.appendChild(fresh);
      chat.log.appendChild(note);
      note.scrollIntoView({ block: "end" });
      fresh.focus();
    });
    if (chat.state.open || chat.state.queue.length) show(true, false);
  }

  if (mode === "widget") {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startWidget);
    else startWidget();
  } else {
    window.AssistChat = { Chat: Chat, UI: UI, LANGS: LANGS, el: el, button: button, number: number };
  }
})();
