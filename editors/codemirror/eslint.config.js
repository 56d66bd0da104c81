import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(js.configs.recommended, ...tseslint.configs.strict, {
  files: ["src/**/*.ts", "demo/**/*.ts"],
});
