// The trade page: the chart of 1-minute candles with the user's entry and liquidation lines, the
// mark, the order form's price fields by type, and the leverage slider kept in step with its
// number field and the "maximum position" it allows. The page's socket (live.js) pushes the mark,
// candles and lines through window.marginsiteLive; while the socket is down the mark and candles
// are polled every 2 seconds. Prices are drawn with JavaScript numbers (pixels); every figure the
// server computes stays a string.
(function () {
  "use strict";

  var POLL_MS = 2000;

  function jsonOf(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function groupedTick(value, tick) {
    var decimals = (tick.split(".")[1] || "").length;
    var number = Number(value);
    return number.toLocaleString("en-US", {
      minimumFractionDigits: decimals, maximumFractionDigits: decimals
    });
  }

  function candle(c) {
    return { time: c.time, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) };
  }

  function setUpChart() {
    var container = document.getElementById("chart");
    if (!container || !window.LightweightCharts) return null;
    var charts = window.LightweightCharts;
    var chart = charts.createChart(container, {
      autoSize: true,
      layout: { background: { color: "#171d24" }, textColor: "#8b949e" },
      grid: { vertLines: { color: "#2a323c" }, horzLines: { color: "#2a323c" } },
      timeScale: { timeVisible: true, secondsVisible: false }
    });
    return chart.addSeries(charts.CandlestickSeries, {
      upColor: "#0ecb81", downColor: "#f6465d", borderVisible: false,
      wickUpColor: "#0ecb81", wickDownColor: "#f6465d"
    });
  }

  var series = setUpChart();
  var priceLines = [];
  var socketOpen = false;

  // The entry and liquidation lines of the user's positions on the symbol, drawn again whole.
  // Entry yellow; liquidation red; a take-profit green and a stop-loss orange, dashed.
  var LINE_COLOURS = {
    entry: "#f0b90b", liquidation: "#f6465d", "take-profit": "#0ecb81", "stop-loss": "#f7931a"
  };

  function setLines(lines) {
    if (!series) return;
    priceLines.forEach(function (line) { series.removePriceLine(line); });
    priceLines = (lines || []).map(function (line) {
      var kind = (line.title.match(/liquidation|take-profit|stop-loss/) || ["entry"])[0];
      return series.createPriceLine({
        price: Number(line.price), title: line.title, lineWidth: 1,
        color: LINE_COLOURS[kind], lineStyle: kind === "entry" ? 0 : 2
      });
    });
  }

  function showMark(data) {
    var mark = document.querySelector("[data-live='mark']");
    var source = document.querySelector("[data-live='source']");
    if (mark && data.mark) mark.textContent = groupedTick(data.mark, mark.getAttribute("data-tick"));
    if (source && data.source) source.textContent = data.source;
  }

  // All the candles (a poll), or the newest ones (a push), which update the chart in place.
  function updateCandles(candles, whole) {
    if (!series || !candles) return;
    if (whole) series.setData(candles.map(candle));
    else candles.forEach(function (c) { series.update(candle(c)); });
  }

  // The mark is polled even if the chart library failed to load (series is then null), and only
  // while the socket is not open.
  function poll() {
    var container = document.getElementById("chart");
    var url = container && container.getAttribute("data-live-url");
    if (!url) return;
    function tick() {
      if (socketOpen) return;
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) return;
          showMark(data);
          updateCandles(data.candles, true);
        })
        .catch(function () { /* the next poll tries again */ });
    }
    tick();
    window.setInterval(tick, POLL_MS);
  }

  window.marginsiteLive = {
    showMark: showMark,
    updateCandles: updateCandles,
    setLines: setLines,
    socketOpen: function (open) { socketOpen = open; }
  };

  function showPriceFields() {
    var type = document.getElementById("order-type");
    if (!type) return;
    function update() {
      document.querySelectorAll("[data-for-type]").forEach(function (field) {
        field.hidden = field.getAttribute("data-for-type").split(" ").indexOf(type.value) < 0;
      });
    }
    type.addEventListener("change", update);
    update();
  }

  function maxPosition(brackets, leverage) {
    var caps = brackets.filter(function (b) { return b.max_leverage >= leverage; })
      .map(function (b) { return b.cap; });
    if (!caps.length) return "0";
    return caps.reduce(function (a, b) { return Number(b) > Number(a) ? b : a; });
  }

  function leverageControls() {
    var brackets = jsonOf("brackets") || [];
    document.querySelectorAll(".leverage-form").forEach(function (form) {
      var slider = form.querySelector("[data-leverage-slider]");
      var number = form.querySelector("[data-leverage-number]");
      var max = form.querySelector("[data-max-position]");
      function show(value) {
        max.textContent = Number(maxPosition(brackets, Number(value))).toLocaleString("en-US");
      }
      slider.addEventListener("input", function () { number.value = slider.value; show(slider.value); });
      number.addEventListener("input", function () { slider.value = number.value; show(number.value); });
    });
    // Only the leverage of the mode chosen in the order form is shown (without JS: both).
    var chips = document.querySelectorAll("#order-form input[name='margin_mode']");
    function chosen() {
      var mode = document.querySelector("#order-form input[name='margin_mode']:checked");
      document.querySelectorAll(".leverage-form").forEach(function (form) {
        form.hidden = mode && form.getAttribute("data-mode") !== mode.value;
      });
    }
    chips.forEach(function (chip) { chip.addEventListener("change", chosen); });
    chosen();
  }

  setLines(jsonOf("chart-lines"));
  poll();
  showPriceFields();
  leverageControls();
})();
