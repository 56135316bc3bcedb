// Package static serves a single-page app (the index.html and assets that
// Vite, esbuild or webpack build) from an fs.FS, usually an embed.FS, with
// the caching, compression and fallback rules an SPA needs. An [SPA], built
// by [New] from a [Config], is an http.Handler; mount it at "/" beside the
// API routes, which the more specific ServeMux patterns take first. The
// package imports only the standard library.
//
// # Routing
//
// An existing file is served. "/" and client-side routes (paths that are
// not files and whose last segment has no extension, like "/rooms/42") get
// the index page with status 200, so that the app's router can take over.
// Everything else is a 404 and never the index page: a missing asset (a
// last segment with an extension, "/app.js", or a path inside a directory
// of the FS, "/assets/x"), a path under [Config.APIPrefixes] (default
// "/api/", answered with a small application/problem+json body so API
// clients can parse it), a directory (never listed), and any path with a
// hidden segment ("/.env"). Paths are cleaned with path.Clean and looked up
// in the fs.FS, which cannot reach outside its root. Only GET and HEAD
// are served; other methods get 405.
//
// # Caching
//
// Files whose name carries a content hash ([IsHashed], or
// [Config.Immutable]) are sent with Cache-Control: public,
// max-age=31536000, immutable. Every other file, index.html included, is
// sent with Cache-Control: no-cache and a strong ETag (a hash of its
// content), so a browser revalidates with If-None-Match and gets a 304
// while the file is unchanged. ETags are computed on first request and
// kept until the file's size or modification time changes.
//
// # Compression and types
//
// A file with a precompressed sibling ("app.js.br", "app.js.gz", as
// vite-plugin-compression writes them) is served compressed to clients
// that accept it: Accept-Encoding q-values are honoured, br is preferred
// on a tie, the response has Content-Encoding, the original's Content-Type
// and Vary: Accept-Encoding. Range requests (handled by http.ServeContent)
// always get the uncompressed file. Content types come from a built-in
// table for web files (.js, .mjs, .css, .svg, .wasm, .json, .webmanifest,
// .woff2, …), then the OS's MIME database; contents are never sniffed,
// and X-Content-Type-Options: nosniff is set.
//
// # Security
//
// Every response carries [Config].SecurityHeaders, by default
// [DefaultSecurityHeaders]: a Content-Security-Policy that allows the
// app's own scripts and its own WebSocket and forbids framing
// (frame-ancestors 'none'), Referrer-Policy: no-referrer and
// X-Content-Type-Options: nosniff. To serve a directory, use [Dir]
// (os.OpenRoot), not os.DirFS, which follows symbolic links out of it.
package static
