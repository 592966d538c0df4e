// Starts Swagger UI or ReDoc on the API docs pages (kept out of the page: the CSP allows no inline script).
(function () {
  "use strict";
  var swagger = document.getElementById("swagger-ui");
  if (swagger && window.SwaggerUIBundle) {
    var csrf = swagger.dataset.csrf;
    window.SwaggerUIBundle({
      url: swagger.dataset.openapiUrl,
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      // "Try it out" runs in the signed-in session, whose unsafe requests need the CSRF token.
      requestInterceptor: function (req) { if (csrf) { req.headers["X-CSRF-Token"] = csrf; } return req; },
    });
  }
  var redoc = document.getElementById("redoc");
  if (redoc && window.Redoc) {
    window.Redoc.init(redoc.dataset.openapiUrl, {}, redoc);
  }
})();
