// The confirmation step: choosing the other mode updates the summary (leverage, initial margin,
// fee, estimated liquidation price) from the figures the server computed for that mode.
(function () {
  "use strict";
  var SUMMARY = {
    "leverage": "data-leverage", "initial-margin": "data-initial-margin", "fee": "data-fee",
    "liquidation": "data-liquidation", "notional": "data-notional"
  };
  var options = document.querySelectorAll(".mode-option");
  function update() {
    options.forEach(function (option) {
      var radio = option.querySelector("input[type='radio']");
      option.classList.toggle("chosen", radio.checked);
      if (!radio.checked) return;
      Object.keys(SUMMARY).forEach(function (key) {
        var cell = document.querySelector("[data-summary='" + key + "']");
        if (cell) cell.textContent = option.getAttribute(SUMMARY[key]);
      });
      var mode = document.querySelector("[data-summary='mode']");
      if (mode) mode.textContent = option.getAttribute("data-mode") === "CROSS" ? "Cross" : "Isolated";
    });
  }
  options.forEach(function (option) {
    option.querySelector("input[type='radio']").addEventListener("change", update);
  });
})();
