// The API docs page (/api/docs/): the vendored Swagger UI over the schema named by #swagger-ui's
// data-schema-url. A file, not an inline script: the Content-Security-Policy runs none.
(function () {
  "use strict";

  var container = document.getElementById("swagger-ui");
  if (!container || !window.SwaggerUIBundle) return;
  var csrfToken = container.dataset.csrfToken;
  // The site is dark: Swagger UI has a dark theme of its own, switched on by this class.
  document.documentElement.classList.add("dark-mode");
  window.SwaggerUIBundle({
    url: container.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // No call to swagger.io's online validator: nothing leaves this site.
    validatorUrl: null,
    // Writes with the session need Django's CSRF token; only this site's requests carry it.
    requestInterceptor: function (request) {
      if (new URL(request.url, window.location.href).origin === window.location.origin) {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    }
  });
})();
