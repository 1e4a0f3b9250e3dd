#!/usr/bin/env bash
# The one test command: `bash scripts/test.sh [pytest args]` (CI runs it via .ci/run).
# Idempotent: installs only what is missing, then lints and runs the whole test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# (a) Debian packages the tests drive: PostgreSQL+PostGIS, Chromium, CJK fonts.
DEB_PKGS=(postgresql-15-postgis-3 chromium fonts-noto-cjk poppler-utils)
missing=()
for pkg in "${DEB_PKGS[@]}"; do
  dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "test.sh: installing Debian packages: ${missing[*]}" >&2
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
  log=$(mktemp)
  if ! { "${sudo[@]}" apt-get update -q \
       && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 </dev/null; then
    tail -n 40 "$log" >&2
    echo "test.sh: FAILED to install ${missing[*]} - apt output above (root or passwordless sudo is needed)" >&2
    exit 1
  fi
  rm -f "$log"
fi

# (b) The package and its test tools (pytest, hypothesis, playwright, ruff).
# Playwright drives the system Chromium: never download a browser build.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PIP_ROOT_USER_ACTION=ignore
python -m pip install -q --disable-pip-version-check -e ".[test]"

# Where tests/_services.py finds the server binaries and the browser.
export GRIDMAP_PG_BINDIR="${GRIDMAP_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
export GRIDMAP_CHROMIUM="${GRIDMAP_CHROMIUM:-/usr/bin/chromium}"

# (c) Lint, then test. pytest's exit 5 ("no tests collected") is a failure here.
python -m ruff check --quiet .
rc=0
python -m pytest "$@" || rc=$?
if ((rc == 5)); then
  echo "test.sh: pytest collected no tests - failing" >&2
  exit 1
fi
exit "$rc"
