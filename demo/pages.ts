/**
 * The demo's pages: a strict Content-Security-Policy on every answer, the static files of
 * `demo/public/` (read once, served by name only, so no path from a request reaches the disk), and
 * an escaping helper for the few pages rendered on the server.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Middleware } from 'koa';

/** No inline script or style, nothing from another origin, forms post only here. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

export function securityHeaders(): Middleware {
  return async function setSecurityHeaders(ctx, next) {
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    await next();
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const PUBLIC_DIR = new URL('./public/', import.meta.url);

/**
 * Serves `demo/public/<name>` at `/static/<name>`, and the pages in `pages` (path -> file name).
 * The files are small; they are read at start-up.
 */
export async function publicFiles(pages: Record<string, string>): Promise<Middleware> {
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const name of await readdir(PUBLIC_DIR)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { type, body: await readFile(new URL(name, PUBLIC_DIR)) });
  }
  return async function servePublicFile(ctx, next) {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const page = Object.hasOwn(pages, ctx.path) ? pages[ctx.path] : undefined;
    const asset = ctx.path.startsWith('/static/') ? ctx.path.slice('/static/'.length) : undefined;
    // Pages only at their own path; under /static/ everything else (a name, never a path).
    const name = page ?? (asset?.endsWith('.html') ? undefined : asset);
    const file = name === undefined ? undefined : files.get(name);
    if (!file) return next();
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = file.type;
    ctx.body = file.body;
  };
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** A whole page around `body` (already escaped), with the shared stylesheet and external scripts. */
export function renderPage(title: string, body: string, scripts: readonly string[] = []): string {
  const tags = scripts.map((src) => `<script type="module" src="${escapeHtml(src)}"></script>`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/static/demo.css">
<link rel="icon" href="/static/favicon.svg">
${tags.join('\n')}
</head>
<body>
<header class="top"><h1>koa-jwtconnect demo</h1><a href="/">Session console</a><a href="/audit">Audit timeline</a><a href="/sessions">Sessions (admin)</a></header>
${body}
</body>
</html>
`;
}
