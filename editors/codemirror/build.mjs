// Bundles the package (CodeMirror, Lezer and KaTeX stay imports: they are peer dependencies), its type
// declarations, the pad's stylesheet (with KaTeX's fonts) and the demo editor into dist/.
import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";

import * as esbuild from "esbuild";

const common = { bundle: true, minify: true, logLevel: "info", sourcemap: true, target: "es2022", format: "esm" };

await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: ["src/index.ts"],
    outfile: "dist/index.js",
    // @codemirror/lsp-client (and its Markdown renderer) is bundled: it is this package's own dependency.
    external: [
      "@codemirror/autocomplete",
      "@codemirror/language",
      "@codemirror/lint",
      "@codemirror/state",
      "@codemirror/view",
      "@lezer/*",
      "katex",
    ],
  }),
  esbuild.build({ ...common, entryPoints: ["demo/demo.ts"], outfile: "dist/demo.js" }),
  esbuild.build({
    ...common,
    format: undefined,
    entryPoints: ["../pad/src/pad.css"],
    outfile: "dist/pad.css",
    loader: { ".woff2": "file", ".woff": "file", ".ttf": "file" },
  }),
]);
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });

const gzipped = gzipSync(readFileSync("dist/index.js")).length;
console.log(`dist/index.js: ${(gzipped / 1024).toFixed(1)} KB gzipped (without its peer dependencies)`);
