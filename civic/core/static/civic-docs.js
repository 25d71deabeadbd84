// Starts Swagger UI on /api/v1/docs/ (civic.core.routes.docs_blueprint).  A file, not an inline
// script, so the page runs under civic's Content-Security-Policy (script-src 'self').
window.addEventListener("load", function () {
  var config = JSON.parse(document.getElementById("swagger-ui").dataset.config);
  config.presets = [SwaggerUIBundle.presets.apis];
  config.plugins = [SwaggerUIBundle.plugins.DownloadUrl];
  window.ui = SwaggerUIBundle(config);
});
