import { defineConfig } from "vite"

// `npm run dev` serves the SPA on http://127.0.0.1:5173 and proxies the API and
// the Phoenix socket (WebSocket and LongPoll) to the Go server, started with
//   go run ./examples/chat -addr 127.0.0.1:4000 -web examples/chat/web/dist -data /tmp/chatdata
// `npm run build` writes dist/ (index.html + hashed files under dist/assets/),
// which the Go server serves, with index.html for every client route.
// CHAT_URL points the dev proxy at another server.
declare const process: { env: Record<string, string | undefined> }
const server = process.env["CHAT_URL"] ?? "http://127.0.0.1:4000"

export default defineConfig({
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": { target: server },
      "/socket": { target: server, ws: true },
    },
  },
  preview: {
    host: "127.0.0.1",
    port: 4173,
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    target: "es2022",
  },
})
