/**
 * The two pages the gateway serves to browsers: the API reference (/docs, Swagger UI from the
 * local swagger-ui-dist package, no CDN) and the web console (/, its application in gateway/console). Scripts are files, never
 * inline, so the Content-Security-Policy can stay `script-src 'self'`.
 */
import { dirname, join } from 'node:path';
import type { RequestHandler } from 'express';
import { consoleBundle } from './console-bundle';

const swaggerUiDirectory = dirname(require.resolve('swagger-ui-dist/swagger-ui-bundle.js'));

export const docsAssetsPath = '/docs/assets';
export const consoleAssetsPath = '/console/assets';

export const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sizhong API reference</title>
<link rel="stylesheet" href="${docsAssetsPath}/swagger-ui.css">
<link rel="icon" type="image/png" href="${docsAssetsPath}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${docsAssetsPath}/swagger-ui-bundle.js"></script>
<script src="${docsAssetsPath}/sizhong-docs.js"></script>
</body>
</html>
`;

/** Swagger UI's start-up, with the validator badge off: it would call an outside server. */
const docsInitializer = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false
  });
});
`;

/**
 * The console's shell: the application (gateway/console, bundled by console-bundle.ts) renders
 * into #app. What is here shows before the script runs and without it: the product's name and the
 * links to the reference and the probes.
 */
export const consolePage = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>四众 Sizhong</title>
<link rel="stylesheet" href="${consoleAssetsPath}/console.css">
<script src="${consoleAssetsPath}/console.js" defer></script>
</head>
<body>
<div id="app" class="app-loading">
<header class="shell-header"><span class="brand-mark" aria-hidden="true">四</span><span>四众 Sizhong</span></header>
<main class="shell-main">
<p>正在载入控制台… Loading the console…</p>
<noscript><p>控制台需要 JavaScript。The console needs JavaScript.</p></noscript>
<nav><a href="/docs">API reference</a> · <a href="/openapi.json">OpenAPI</a> · <a href="/readyz">Readiness</a></nav>
</main>
</div>
</body>
</html>
`;

interface Asset {
  readonly contentType: string;
  readonly file?: string;
  readonly text?: string;
}

/** Serves a fixed set of files under a mount path; anything else falls through to the 404 problem. */
function assets(files: Readonly<Record<string, Asset>>): RequestHandler {
  return (request, response, next) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return next();
    const asset = Object.hasOwn(files, request.path) ? files[request.path] : undefined;
    if (!asset) return next();
    response.setHeader('Cache-Control', 'public, max-age=3600');
    response.type(asset.contentType);
    if (asset.file) response.sendFile(asset.file, (error) => (error ? next(error) : undefined));
    else response.send(asset.text ?? '');
  };
}

export const docsAssets = assets({
  '/swagger-ui.css': { contentType: 'text/css', file: join(swaggerUiDirectory, 'swagger-ui.css') },
  '/swagger-ui-bundle.js': { contentType: 'text/javascript', file: join(swaggerUiDirectory, 'swagger-ui-bundle.js') },
  '/favicon-32x32.png': { contentType: 'image/png', file: join(swaggerUiDirectory, 'favicon-32x32.png') },
  '/sizhong-docs.js': { contentType: 'text/javascript', text: docsInitializer },
});

/**
 * The console's files, from the bundle built on demand (console-bundle.ts). The script and the
 * style sheet keep their names across builds, so browsers revalidate them (ETag); the fonts carry
 * their hash in their names and are cached for a year.
 */
export const consoleAssets: RequestHandler = (request, response, next) => {
  if (request.method !== 'GET' && request.method !== 'HEAD') return next();
  consoleBundle().then(
    (bundle) => {
      if (!bundle.files.has(request.path)) return next();
      response.setHeader('Cache-Control', request.path.startsWith('/fonts/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      response.sendFile(request.path.slice(1), { root: bundle.directory, dotfiles: 'deny' }, (error) => (error ? next(error) : undefined));
    },
    (error: unknown) => next(error),
  );
};
