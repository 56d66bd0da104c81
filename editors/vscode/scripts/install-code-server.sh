#!/usr/bin/env bash
# Installs code-server (VS Code, served to a browser) from the npm registry, for the end-to-end test that runs the
# extension in a real VS Code: tests/editors/test_vscode.py. Idempotent; prints the install directory.
#
# code-server's own postinstall fetches prebuilt binaries from outside the npm registry, so this runs the npm
# installs with --ignore-scripts and compiles the few native modules VS Code needs with node-gyp against the
# local node headers. 4.100.x is the last line that runs on Node 20 (VS Code 1.100).
set -euo pipefail

VERSION=4.100.3
DIR="${EXTEXIFY_CODE_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/extexify/code-server-$VERSION}"

if [[ -f "$DIR/.installed" ]]; then
  echo "$DIR"
  exit 0
fi

NODEDIR="$(dirname "$(dirname "$(command -v node)")")"
if [[ ! -f "$NODEDIR/include/node/node_api.h" ]]; then
  echo "install-code-server: no node headers under $NODEDIR/include/node (Debian: apt-get install libnode-dev)" >&2
  exit 1
fi
NODE_GYP="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[[ -f "$NODE_GYP" ]] || NODE_GYP="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"

rm -rf "$DIR"
mkdir -p "$DIR"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "code-server@$VERSION" >/dev/null)
tar -xzf "$work/code-server-$VERSION.tgz" -C "$DIR" --strip-components=1

(cd "$DIR" && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
(cd "$DIR/lib/vscode" && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
# What code-server's postinstall does besides fetching binaries: VS Code looks for its modules here.
ln -sfn node_modules "$DIR/lib/vscode/node_modules.asar"

export npm_config_nodedir="$NODEDIR"
(cd "$DIR/node_modules/argon2" && ../.bin/node-pre-gyp install --build-from-source --nodedir="$NODEDIR" --loglevel=error >/dev/null)
for module in @vscode/spdlog node-pty native-watchdog; do
  (cd "$DIR/lib/vscode/node_modules/$module" && node "$NODE_GYP" rebuild --nodedir="$NODEDIR" -j 2 --loglevel=error >/dev/null)
done

touch "$DIR/.installed"
echo "$DIR"
