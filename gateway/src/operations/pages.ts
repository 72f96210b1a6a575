/**
 * The two pages the gateway serves to browsers: the API reference (/docs, Swagger UI from the
 * local swagger-ui-dist package, no CDN) and a minimal console (/). Scripts are files, never
 * inline, so the Content-Security-Policy can stay `script-src 'self'`.
 */
import { dirname, join } from 'node:path';
import type { RequestHandler } from 'express';

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

export const consolePage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sizhong console</title>
<link rel="stylesheet" href="${consoleAssetsPath}/console.css">
</head>
<body>
<header><h1>Sizhong 四众</h1><p>Crowdsourcing and crowdfunding, one escrow ledger.</p></header>
<main>
<nav>
<a href="/docs">API reference</a> · <a href="/openapi.json">OpenAPI document</a> ·
<a href="/readyz">Readiness</a> · <a href="/metrics">Metrics</a>
</nav>
<section>
<h2>Sign in</h2>
<form id="sign-in">
<label>Email <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
</section>
<section>
<h2>Sign up</h2>
<form id="sign-up">
<label>Email <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="new-password" minlength="12" required></label>
<label>Display name <input name="displayName" required></label>
<label>Roles <select name="roles" multiple size="6">
<option>enterprise</option><option>solver</option><option>creator</option>
<option>backer</option><option>investor</option><option>issuer</option>
</select></label>
<button type="submit">Sign up</button>
</form>
</section>
<section>
<h2>Me</h2>
<pre id="output">Not signed in.</pre>
</section>
</main>
<script src="${consoleAssetsPath}/console.js"></script>
</body>
</html>
`;

const consoleStyles = `body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 48rem; padding: 0 1rem; color: #1d1d1f; }
header p { color: #555; }
section { margin: 1.5rem 0; }
label { display: block; margin: .5rem 0; }
input, select { display: block; margin-top: .25rem; min-width: 20rem; }
pre { background: #f4f4f6; padding: 1rem; overflow: auto; }
`;

/** The token lives in this page's memory only: nothing is written to storage. */
const consoleScript = `(function () {
  var token = null;
  var output = document.getElementById('output');
  function show(value) { output.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2); }
  async function call(method, path, body) {
    var headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    var response = await fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined });
    var text = await response.text();
    var parsed = text ? JSON.parse(text) : null;
    if (!response.ok) throw parsed;
    return parsed;
  }
  document.getElementById('sign-in').addEventListener('submit', async function (event) {
    event.preventDefault();
    var form = new FormData(event.target);
    try {
      var issued = await call('POST', '/v1/auth/token', { email: form.get('email'), password: form.get('password') });
      token = issued.accessToken;
      show(await call('GET', '/v1/me'));
    } catch (problem) { show(problem); }
  });
  document.getElementById('sign-up').addEventListener('submit', async function (event) {
    event.preventDefault();
    var form = new FormData(event.target);
    try {
      show(await call('POST', '/v1/auth/signup', {
        email: form.get('email'), password: form.get('password'), displayName: form.get('displayName'), roles: form.getAll('roles')
      }));
    } catch (problem) { show(problem); }
  });
})();
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

export const consoleAssets = assets({
  '/console.css': { contentType: 'text/css', text: consoleStyles },
  '/console.js': { contentType: 'text/javascript', text: consoleScript },
});
