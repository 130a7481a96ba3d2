#!/usr/bin/env bash
# Regenerates the Go bindings of the Dagger module in ci/ (the files `dagger develop`
# writes: dagger.gen.go, internal/{dagger,querybuilder,telemetry}, go.mod, go.sum), or with
# --check fails when the committed ones differ from what codegen makes of ci/ now.
#
# Two routes to the same output:
#   engine   `dagger develop`, when the dagger CLI is installed and an engine answers;
#   offline  Dagger's own codegen, at the release dagger.json pins, built from the Go module
#            proxy (scripts/dagger-codegen pins it) and run on the API schema that release
#            gives a Go module (scripts/dagger-codegen/schema.json), under the Go of its SDK.
# DAGGER_BINDINGS_ROUTE=engine|offline picks one; the default is engine when reachable.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The Go of the Go SDK image of the pinned release: codegen refuses a higher go directive.
SDK_GO=go1.25.5
TOOLS=scripts/dagger-codegen
SCHEMA=$PWD/$TOOLS/schema.json
version=$(sed -n 's/^ *"engineVersion": *"\([^"]*\)".*/\1/p' dagger.json)
pinned=$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/dagger/dagger") { print $(i + 1); exit } }' "$TOOLS/go.mod")
[ "$version" = "$pinned" ] || {
  echo "dagger.json pins engine $version but $TOOLS builds codegen $pinned: update both (and schema.json) together" >&2
  exit 1
}

engine_reachable() {
  command -v dagger >/dev/null 2>&1 && timeout 120 dagger core version >/dev/null 2>&1
}

route=${DAGGER_BINDINGS_ROUTE:-}
if [ -z "$route" ]; then
  if engine_reachable; then route=engine; else route=offline; fi
fi

# quietly runs a command, showing its output only when it fails.
quietly() {
  local log status=0
  log=$(mktemp)
  "$@" >"$log" 2>&1 || status=$?
  [ "$status" -eq 0 ] || cat "$log" >&2
  rm -f "$log"
  return "$status"
}

# generate DIR: writes the bindings of DIR/ci (DIR holds dagger.json and ci/).
generate() {
  local dir=$1
  case $route in
  engine)
    (cd "$dir" && quietly dagger --progress=plain develop)
    ;;
  offline)
    local cache=${XDG_CACHE_HOME:-$HOME/.cache}/todo-app/dagger-codegen-$version
    local stamp; stamp=$(cat "$TOOLS/go.mod" "$TOOLS/go.sum" | sha256sum | cut -c1-16)
    if [ "$(cat "$cache/stamp" 2>/dev/null)" != "$stamp" ]; then
      echo "building Dagger $version codegen into $cache (once)" >&2
      mkdir -p "$cache"
      GOTOOLCHAIN=$SDK_GO GOWORK=off GOFLAGS=-mod=readonly \
        go -C "$TOOLS" build -trimpath -o "$cache/codegen" github.com/dagger/dagger/cmd/codegen
      echo "$stamp" > "$cache/stamp"
    fi
    local name; name=$(sed -n 's/^ *"name": *"\([^"]*\)".*/\1/p' "$dir/dagger.json" | head -1)
    # As the engine does: the old dagger.gen.go goes first, codegen runs under the SDK's Go.
    rm -f "$dir/ci/dagger.gen.go"
    (cd "$dir" && quietly env -u DAGGER_SESSION_PORT -u DAGGER_SESSION_TOKEN -u GOFLAGS -u GOWORK GOTOOLCHAIN=$SDK_GO \
      "$cache/codegen" generate-module --output . --module-source-path ./ci --module-name "$name" \
      --introspection-json-path "$SCHEMA")
    ;;
  *)
    echo "DAGGER_BINDINGS_ROUTE=$route: want engine or offline" >&2
    return 1
    ;;
  esac
}

# Codegen runs on a copy outside the checkout: it edits any go.work it finds
# above the module (ours ties the backend and the tools, not ci/), and the
# engine, which uploads ci/ alone, never sees one.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r dagger.json ci "$scratch"/
generate "$scratch"

if [ "${1:-}" != --check ]; then
  cp -a "$scratch/ci/." ci/
  GOWORK=off go -C ci build ./...
  echo "ci/ bindings regenerated ($route route): commit ci/dagger.gen.go ci/internal ci/go.mod ci/go.sum"
  exit 0
fi

if ! diff -r -q ci "$scratch/ci"; then
  echo "ci/ bindings are stale ($route route): run scripts/dagger-bindings.sh and commit the result" >&2
  diff -r -u ci "$scratch/ci" | head -40 >&2
  exit 1
fi
echo "ci/ bindings are current ($route route, Dagger $version)"
