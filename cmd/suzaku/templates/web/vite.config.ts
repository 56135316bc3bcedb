import { defineConfig } from "vite"

// `npm run dev` serves the SPA on http://127.0.0.1:5173 with hot reload and
// proxies the API and the socket to the Go server (`go run ..`, port 4000).
// `npm run build` writes dist/, which the Go server serves.
export default defineConfig({
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: {
      "/api": { target: "http://127.0.0.1:4000" },
      "/socket": { target: "http://127.0.0.1:4000", ws: true },
    },
  },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
})
