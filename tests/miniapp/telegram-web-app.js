/* A faithful stand-in for Telegram's telegram-web-app.js, for tests only: like Telegram's
   script it reads what the Telegram client put in the page's URL fragment (tgWebAppData, the
   initData Telegram signed; tgWebAppThemeParams; tgWebAppVersion; tgWebAppPlatform), exposes
   them as window.Telegram.WebApp and sets the theme's CSS variables (--tg-theme-*) on the
   document. The tests sign tgWebAppData as Telegram does, with their own bot token. */
(function () {
  "use strict";
  function fragment() {
    var params = {};
    var hash = window.location.hash.replace(/^#/, "");
    hash.split("&").forEach(function (pair) {
      if (!pair) { return; }
      var at = pair.indexOf("=");
      var key = decodeURIComponent(at < 0 ? pair : pair.slice(0, at));
      params[key] = at < 0 ? "" : decodeURIComponent(pair.slice(at + 1));
    });
    return params;
  }
  function unsafe(initData) {
    var result = {};
    initData.split("&").forEach(function (pair) {
      if (!pair) { return; }
      var at = pair.indexOf("=");
      var key = decodeURIComponent(pair.slice(0, at));
      var value = decodeURIComponent(pair.slice(at + 1).replace(/\+/g, " "));
      result[key] = key === "user" || key === "receiver" || key === "chat" ? JSON.parse(value) : value;
    });
    return result;
  }
  var params = fragment();
  var initData = params.tgWebAppData || "";
  var theme = {};
  try { theme = JSON.parse(params.tgWebAppThemeParams || "{}"); } catch (e) { theme = {}; }
  var root = document.documentElement;
  Object.keys(theme).forEach(function (key) {
    root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), theme[key]);
  });
  function dark(color) {
    var match = /^#([0-9a-f]{6})$/i.exec(color || "");
    if (!match) { return false; }
    var n = parseInt(match[1], 16);
    return (0.2126 * (n >> 16) + 0.7152 * ((n >> 8) & 255) + 0.0722 * (n & 255)) < 120;
  }
  var scheme = dark(theme.bg_color) ? "dark" : "light";
  root.style.setProperty("--tg-color-scheme", scheme);
  var noop = function () {};
  var button = { show: noop, hide: noop, onClick: noop, offClick: noop, setText: noop, isVisible: false };
  window.Telegram = {
    WebApp: {
      initData: initData,
      initDataUnsafe: initData ? unsafe(initData) : {},
      version: params.tgWebAppVersion || "6.0",
      platform: params.tgWebAppPlatform || "unknown",
      colorScheme: scheme,
      themeParams: theme,
      isExpanded: false,
      ready: noop,
      expand: function () { this.isExpanded = true; },
      close: noop,
      onEvent: noop,
      offEvent: noop,
      MainButton: button,
      BackButton: button
    }
  };
})();
