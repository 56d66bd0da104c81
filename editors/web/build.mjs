// Bundles the ES module, the demo page's script and the pad's stylesheet (with KaTeX's fonts) into dist/.
import * as esbuild from "esbuild";

const common = { bundle: true, minify: true, logLevel: "info", sourcemap: true, target: "es2022" };

await Promise.all([
  esbuild.build({ ...common, entryPoints: ["src/index.ts"], format: "esm", outfile: "dist/extexify-web.js" }),
  esbuild.build({ ...common, entryPoints: ["demo/demo.ts"], format: "esm", outfile: "dist/demo.js" }),
  esbuild.build({
    ...common,
    entryPoints: ["../pad/src/pad.css"],
    outfile: "dist/pad.css",
    loader: { ".woff2": "file", ".woff": "file", ".ttf": "file" },
  }),
]);
