// Bundles the extension host (dist/extension.js), the webview (dist/webview.js + .css) and, with --tests,
// the unit tests (out/test/*.test.js, run by `node --test`).
import { readdirSync } from "node:fs";
import * as esbuild from "esbuild";

const common = { bundle: true, logLevel: "warning" };

async function buildExtension() {
  await esbuild.build({
    ...common,
    entryPoints: ["src/extension.ts"],
    outfile: "dist/extension.js",
    platform: "node",
    format: "cjs",
    target: "node20",
    // Provided by VS Code at run time.
    external: ["vscode"],
  });
  await esbuild.build({
    ...common,
    entryPoints: [
      { in: "src/webview/main.ts", out: "webview" },
      { in: "src/webview/webview.css", out: "webview" },
    ],
    outdir: "dist",
    platform: "browser",
    format: "iife",
    target: "es2022",
    // KaTeX's fonts, referenced by its CSS.
    loader: { ".woff2": "file", ".woff": "file", ".ttf": "file" },
    assetNames: "fonts/[name]",
  });
}

async function buildTests() {
  await esbuild.build({
    ...common,
    entryPoints: readdirSync("test")
      .filter((name) => name.endsWith(".test.ts"))
      .map((name) => `test/${name}`),
    outdir: "out/test",
    platform: "node",
    format: "cjs",
    target: "node20",
  });
}

await (process.argv.includes("--tests") ? buildTests() : buildExtension());
