// The trade page's socket: the server pushes the page's live parts when they change
// (trading/live/consumers.py), and this swaps them in. A "snapshot" carries every live panel's
// HTML (rendered by the same templates as the page), the mark, the newest candles and the
// chart's lines; a "market" carries only the mark, candles and book. A dropped socket reconnects
// (1 s, then doubling to 15 s) and the server's first message, a snapshot, resyncs the whole
// page; meanwhile trade.js polls the mark and a status line says the other figures may be out of
// date. The backoff starts again at 1 s only once a snapshot has arrived, so a server that accepts
// and at once closes (its channel layer down) is not asked every second. A panel holding the
// focus (a price being typed) is swapped when the focus leaves it. <html data-live> says "open"
// (the page is in sync) or "closed", and data-live-at when the last message arrived.
(function () {
  "use strict";

  var container = document.getElementById("chart");
  var path = container && container.getAttribute("data-socket-path");
  var live = window.marginsiteLive;
  if (!path || !live || !window.WebSocket) return;

  var root = document.documentElement;
  var delay = 1000;
  var MAX_DELAY = 15000;
  var deferred = {};
  var current = null;
  // A live region is announced only if it was in the page before its text changed: it stays,
  // empty (and so not drawn, trade.css) while the page is in sync.
  var status = document.createElement("p");
  status.className = "live-status";
  status.setAttribute("role", "status");
  document.body.appendChild(status);

  function panel(name) {
    return document.querySelector("[data-live-panel='" + name + "']");
  }

  function swap(name, html) {
    var node = panel(name);
    if (!node) return;
    if (node.contains(document.activeElement) && document.activeElement !== document.body) {
      deferred[name] = html;
      return;
    }
    delete deferred[name];
    node.innerHTML = html;
  }

  document.addEventListener("focusout", function () {
    window.setTimeout(function () {
      Object.keys(deferred).forEach(function (name) { swap(name, deferred[name]); });
    }, 0);
  });

  function show(data) {
    live.showMark(data);
    live.updateCandles(data.candles, false);
    if (data.lines) live.setLines(data.lines);
    Object.keys(data.panels || {}).forEach(function (name) { swap(name, data.panels[name]); });
    root.setAttribute("data-live-at", String(Date.now()));
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = current = new WebSocket(scheme + window.location.host + path);
    socket.addEventListener("open", function () {
      live.socketOpen(true);
    });
    socket.addEventListener("message", function (event) {
      show(JSON.parse(event.data));
      if (root.getAttribute("data-live") === "open") return;
      delay = 1000;
      root.setAttribute("data-live", "open");
      status.textContent = "";
    });
    socket.addEventListener("close", function (event) {
      live.socketOpen(false);
      root.setAttribute("data-live", "closed");
      if (event.code === 4401 || event.code === 4404) {  // signed out, or no such symbol
        status.textContent = "Live updates stopped: reload the page.";
        return;
      }
      status.textContent =
        "Connection lost: reconnecting. Positions, orders and balances may be out of date.";
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, MAX_DELAY);
    });
  }

  // A page back from sleep asks for the current figures.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && current.readyState === WebSocket.OPEN) {
      current.send("{}");
    }
  });

  connect();
})();
