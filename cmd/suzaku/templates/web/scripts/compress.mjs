// Writes a .br and a .gz sibling next to every compressible file of dist/
// (after `vite build`), so that the Go server (package static) serves them
// precompressed to clients that accept them, without compressing per
// request. A sibling is kept only when it is smaller than the file.
//
//   node scripts/compress.mjs [dir]      (default: dist)
import { readdirSync, readFileSync, writeFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { brotliCompressSync, gzipSync, constants } from "node:zlib"

const dir = process.argv[2] ?? "dist"
const compressible = /\.(js|mjs|css|html|svg|json|map|txt|wasm)$/
const minBytes = 1024

let files = 0
let saved = 0
function walk(d) {
  for (const name of readdirSync(d)) {
    const path = join(d, name)
    if (statSync(path).isDirectory()) {
      walk(path)
      continue
    }
    if (!compressible.test(name)) continue
    const data = readFileSync(path)
    if (data.length < minBytes) continue
    const br = brotliCompressSync(data, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
    })
    const gz = gzipSync(data, { level: 9 })
    for (const [suffix, out] of [[".br", br], [".gz", gz]]) {
      if (out.length < data.length) {
        writeFileSync(path + suffix, out)
        saved += data.length - out.length
      }
    }
    files++
  }
}
walk(dir)
console.log(`compress: ${files} files in ${dir}/ precompressed (.br, .gz), ${Math.round(saved / 1024)} KiB saved over both`)
