// Finding the `extexify-lsp` executable before starting it, so that a missing server gets a helpful message
// instead of the language client's generic "spawn ENOENT".
import { accessSync, constants, statSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";

/** How users install the server: from a checkout of extexify (it is not published on PyPI). */
export const INSTALL_COMMAND = "make install";

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The full path of `command`: itself when it contains a directory (a leading `~/` is the home directory),
 * else the first match on `PATH` (with the `PATHEXT` extensions on Windows); undefined when there is none.
 */
export function findExecutable(
  command: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const expanded = command.startsWith("~/") ? path.join(homedir(), command.slice(2)) : command;
  const extensions = platform === "win32" ? ["", ...(env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";")] : [""];
  const candidates = expanded.includes("/") || (platform === "win32" && expanded.includes("\\"))
    ? [path.resolve(expanded)]
    : (env.PATH ?? "")
        .split(platform === "win32" ? ";" : ":")
        .filter((dir) => dir !== "")
        .map((dir) => path.join(dir, expanded));
  for (const candidate of candidates) {
    for (const extension of extensions) {
      if (isExecutableFile(candidate + extension)) {
        return candidate + extension;
      }
    }
  }
  return undefined;
}
