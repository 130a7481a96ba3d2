#!/usr/bin/env bash
# Makes sure the test suite's prerequisites are on this machine, installing
# them from Debian/Ubuntu packages when it can, and says what is missing when
# it cannot. Safe to run repeatedly.
set -euo pipefail

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1"); }

apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-prereqs: need to install: $*; run as root on Debian/Ubuntu, or install them yourself" >&2
    exit 1
  fi
  echo "ensure-prereqs: installing $* from apt" >&2
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq >&2
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

need go
need node
need npm
if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-prereqs: missing ${missing[*]}: install Go 1.26 or newer and Node.js 20.9 or newer with npm" >&2
  exit 1
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=9)?0:1)' \
  || { echo "ensure-prereqs: Node.js $(node --version) is too old: Next.js 16 needs 20.9 or newer" >&2; exit 1; }

# Playwright drives Debian's Chromium; it never downloads a browser of its own.
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  apt_install chromium
fi
# better-sqlite3 compiles from source when its prebuilt binary cannot be fetched.
for tool in make g++ python3; do
  command -v "$tool" >/dev/null 2>&1 || apt_install build-essential python3
done

# PostgreSQL server binaries: the Go tests start a throwaway cluster with them.
if [ -z "${TEST_DATABASE_URL:-}" ] && ! command -v initdb >/dev/null 2>&1 \
   && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi
# As root, PostgreSQL runs as the 'postgres' user (it refuses to run as root).
if [ -z "${TEST_DATABASE_URL:-}" ] && [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
fi

# make bench also loads the server with wrk beside nginx serving the same bytes.
if [ "${1:-}" = "--bench" ]; then
  command -v wrk >/dev/null 2>&1 || apt_install wrk
  command -v nginx >/dev/null 2>&1 || apt_install nginx-light
fi
