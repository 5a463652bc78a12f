/* The booking page: draws the conversation's screens (JSON from the server) and sends back
   what the customer does. It holds no booking logic and no words of its own: the server's
   conversation decides, words.json and the screens carry every word. All text goes into the
   document through textContent (never parsed as markup). */
(function () {
  "use strict";

  var LANGUAGES = ["en", "es", "it", "de"];
  var tg = window.Telegram && window.Telegram.WebApp;
  var initData = (tg && tg.initData) || "";
  var words = {};
  var lang = "en";
  var busy = false;
  var statusBox = document.getElementById("status");
  var screensBox = document.getElementById("screens");
  var title = document.getElementById("title");
  var main = document.getElementById("app");

  function t(key) {
    var table = words[lang] || words.en || {};
    return table[key] || "";
  }

  function pick(code) {
    var short = String(code || "").split("-")[0].toLowerCase();
    return LANGUAGES.indexOf(short) >= 0 ? short : "en";
  }

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function say(text) {
    statusBox.textContent = text || "";
  }

  function theme() {
    if (!tg) { return; }
    var params = tg.themeParams || {};
    var root = document.documentElement;
    Object.keys(params).forEach(function (key) {
      if (/^[a-z_]+$/.test(key) && /^#[0-9a-fA-F]{3,8}$/.test(String(params[key]))) {
        root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), params[key]);
      }
    });
    root.classList.toggle("light", tg.colorScheme === "light");
  }

  function api(path, body) {
    return fetch("api/" + path, {
      method: "POST",
      headers: { "Authorization": "tma " + initData, "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      return response.json().then(function (json) { return { status: response.status, body: json }; });
    });
  }

  function act(path, body) {
    if (busy) { return; }
    busy = true;
    main.setAttribute("aria-busy", "true");
    Array.prototype.forEach.call(screensBox.querySelectorAll("button, input"), function (node) {
      node.disabled = true;
    });
    api(path, body).then(show, function () {
      say(t("failed"));
      finish();
    });
  }

  function finish() {
    busy = false;
    main.setAttribute("aria-busy", "false");
    Array.prototype.forEach.call(screensBox.querySelectorAll("button, input"), function (node) {
      node.disabled = false;
    });
  }

  function show(result) {
    if (result.status !== 200) {
      say((result.body && result.body.message) || t("failed"));
      if (result.status === 401) {
        screensBox.textContent = "";
        screensBox.appendChild(make("p", "", t("reopen")));
      }
      finish();
      return;
    }
    var reply = result.body;
    lang = pick(reply.language);
    document.documentElement.lang = lang;
    title.textContent = "📅 " + t("title");
    document.title = t("title");
    var notes = [];
    if (reply.toast) { notes.push(reply.toast); }
    if (reply.sent) { notes.push(t("sent")); }
    say(notes.join(" "));
    screensBox.textContent = "";
    var first = null;
    reply.screens.forEach(function (screen) {
      var node = drawScreen(screen);
      screensBox.appendChild(node);
      if (!first) { first = node.querySelector("p"); }
    });
    busy = false;
    main.setAttribute("aria-busy", "false");
    if (first) {
      first.setAttribute("tabindex", "-1");
      first.focus({ preventScroll: false });
    }
  }

  function drawScreen(screen) {
    var box = make("section", "screen");
    screen.lines.forEach(function (line) {
      if (line) { box.appendChild(make("p", "", line)); }
    });
    if (screen.asks) { box.appendChild(drawForm(screen.asks, screen.known)); }
    var grid = null;
    screen.rows.forEach(function (row) {
      if (isWeek(row)) {
        if (!grid) {
          grid = make("div", "grid");
          grid.setAttribute("role", "group");
          grid.setAttribute("aria-label", t("days"));
          box.appendChild(grid);
        }
        row.forEach(function (cell) { grid.appendChild(drawCell(cell)); });
        return;
      }
      grid = null;
      box.appendChild(isMonth(row) ? drawMonth(row) : drawRow(row));
    });
    return box;
  }

  function isWeek(row) {
    return row.length === 7 && row.every(function (b) {
      return b.kind === "day" || b.kind === "day_unavailable" || b.kind === "noop";
    });
  }

  function isMonth(row) {
    return row.length === 3 && row[1].kind === "noop";
  }

  function tapButton(cell, className) {
    var button = make("button", className || "", cell.label.trim());
    button.type = "button";
    button.setAttribute("data-kind", cell.kind || "");
    button.addEventListener("click", function () { act("tap", { data: cell.data }); });
    return button;
  }

  function drawCell(cell) {
    if (cell.kind === "noop") {
      var blank = make("span", "", cell.label.trim());
      if (!cell.label.trim()) { blank.setAttribute("aria-hidden", "true"); }
      return blank;
    }
    var number = cell.number !== null && cell.number !== undefined ? String(cell.number) : cell.label;
    var button = tapButton({ label: number, data: cell.data, kind: cell.kind }, cell.kind === "day" ? "" : "off " + (cell.day || ""));
    button.setAttribute("data-day", cell.day || "");
    if (cell.kind !== "day") {
      var state = cell.day === "full" ? t("full") : t("closed");
      button.setAttribute("aria-label", number + ", " + state);
    }
    return button;
  }

  function drawMonth(row) {
    var line = make("div", "month");
    row.forEach(function (cell) {
      if (cell.kind === "noop") {
        var text = make("span", "", cell.label.trim());
        if (!cell.label.trim()) { text.setAttribute("aria-hidden", "true"); }
        line.appendChild(text);
      } else {
        var button = tapButton(cell);
        button.setAttribute("data-kind", cell.kind);
        line.appendChild(button);
      }
    });
    return line;
  }

  function drawRow(row) {
    var line = make("div", "row");
    row.forEach(function (cell) {
      if (cell.kind === "noop") {
        if (cell.label.trim()) { line.appendChild(make("span", "", cell.label.trim())); }
        return;
      }
      var button = tapButton(cell);
      button.setAttribute("data-kind", cell.kind);
      line.appendChild(button);
    });
    return line;
  }

  function drawForm(asks, known) {
    var form = make("form");
    var id = "answer-" + asks;
    var label = make("label", "", t(asks));
    label.htmlFor = id;
    var input = make("input");
    input.id = id;
    input.name = asks;
    input.required = true;
    input.maxLength = 256;
    input.type = asks === "email" ? "email" : "text";
    input.autocomplete = asks === "email" ? "email" : "name";
    if (known) { input.value = known; }
    var send = make("button", "", t("send"));
    send.type = "submit";
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      act("text", { text: input.value });
    });
    return form;
  }

  function outside() {
    main.setAttribute("aria-busy", "false");
    title.textContent = "📅";
    screensBox.textContent = "";
    var box = make("section", "screen outside");
    LANGUAGES.forEach(function (code) {
      if (!words[code]) { return; }
      var line = make("p", "", words[code].outside);
      line.lang = code;
      box.appendChild(line);
    });
    screensBox.appendChild(box);
  }

  function start() {
    fetch("words.json", { credentials: "omit" }).then(function (response) {
      return response.json();
    }).then(function (table) {
      words = table;
      if (!initData) { outside(); return; }
      theme();
      tg.ready();
      if (tg.expand) { tg.expand(); }
      lang = pick(tg.initDataUnsafe && tg.initDataUnsafe.user && tg.initDataUnsafe.user.language_code);
      say(t("loading"));
      busy = true;
      api("open").then(show, function () { say(t("failed")); finish(); });
    });
  }

  start();
})();
