#!/usr/bin/env bash
# The one test command: `bash scripts/test.sh [pytest args]` (CI runs it via .ci/run).
#
# Works on a fresh Debian 12 or 13 with only python3 present, as root or with passwordless sudo:
#   (a) installs the Debian packages the tests drive (PostgreSQL + PostGIS of the release,
#       Chromium, CJK fonts, poppler, GNU time; python3-venv where a virtual env is needed);
#   (b) installs the package with its test tools - into the active virtual env, or into
#       .venv/ when the interpreter is externally managed (PEP 668) and none is active;
#   (c) `ruff check`, `ruff format --check`, then pytest on both cores (pytest-xdist) with a
#       per-test timeout and a coverage report.
# Idempotent: installs only what is missing. Extra arguments go to pytest (e.g. `-n 0 -k io`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
apt_updated=0

apt_install() {  # apt_install PKG... - install the missing ones, with apt's output on failure
  local missing=() pkg log
  for pkg in "$@"; do
    dpkg -s "$pkg" 2>/dev/null | grep '^Status: install ok installed' >/dev/null || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  echo "test.sh: installing Debian packages: ${missing[*]}" >&2
  log=$(mktemp)
  if ! { { ((apt_updated)) || "${sudo[@]}" apt-get update -q; } \
       && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 </dev/null; then
    tail -n 40 "$log" >&2
    echo "test.sh: FAILED to install ${missing[*]} - apt output above (root or passwordless sudo is needed)" >&2
    exit 1
  fi
  apt_updated=1
  rm -f "$log"
}

# (a) PostgreSQL + PostGIS: the one already installed, else the newest the release provides
#     (Debian 12: postgresql-15-postgis-3, Debian 13: postgresql-17-postgis-3).
postgis_pkg=""
for v in 17 16 15; do
  if dpkg -s "postgresql-$v-postgis-3" 2>/dev/null | grep '^Status: install ok installed' >/dev/null; then
    postgis_pkg="postgresql-$v-postgis-3"
    break
  fi
done
if [[ -z $postgis_pkg ]]; then
  "${sudo[@]}" apt-get update -q >/dev/null 2>&1 </dev/null && apt_updated=1 || true
  for v in 17 16 15; do
    # Read the whole output first: `| grep -q` under pipefail fails when grep exits early
    # and apt-cache gets SIGPIPE.
    policy=$(apt-cache policy "postgresql-$v-postgis-3" 2>/dev/null || true)
    if [[ $policy == *"Candidate: "[0-9]* ]]; then
      postgis_pkg="postgresql-$v-postgis-3"
      break
    fi
  done
  [[ -n $postgis_pkg ]] || { echo "test.sh: no postgresql-*-postgis-3 package in this release" >&2; exit 1; }
fi
pg_version="${postgis_pkg#postgresql-}"
pg_version="${pg_version%%-*}"

fonts_before=$(dpkg -s fonts-noto-cjk 2>/dev/null | grep -c '^Status: install ok installed' || true)
apt_install "$postgis_pkg" chromium fonts-noto-cjk poppler-utils time

# (b) The interpreter: the active virtual env, a usable pip, or .venv/ (PEP 668).
externally_managed() {
  "$PYTHON" - <<'EOF'
import os, sys, sysconfig
in_venv = sys.prefix != sys.base_prefix
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(0 if (not in_venv and os.path.exists(marker)) else 1)
EOF
}
if externally_managed || ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
  if [[ ! -x .venv/bin/python ]]; then
    apt_install python3-venv
    echo "test.sh: making a virtual environment in .venv/ (this interpreter is externally managed)" >&2
    "$PYTHON" -m venv .venv
  fi
  PYTHON="$PWD/.venv/bin/python"
  export PATH="$PWD/.venv/bin:$PATH"
fi

# The package and its test tools. Playwright drives the system Chromium: never download a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PIP_ROOT_USER_ACTION=ignore
"$PYTHON" -m pip install -q --disable-pip-version-check -e ".[test]"

# Fonts installed just now: matplotlib's font cache predates them (the report's Chinese labels).
if [[ $fonts_before -eq 0 ]]; then
  rm -f "$("$PYTHON" -c 'import matplotlib; print(matplotlib.get_cachedir())')"/fontlist-*.json
fi

# Where tests/_services.py finds the server binaries and the browser.
export GRIDMAP_PG_BINDIR="${GRIDMAP_PG_BINDIR:-/usr/lib/postgresql/$pg_version/bin}"
export GRIDMAP_CHROMIUM="${GRIDMAP_CHROMIUM:-/usr/bin/chromium}"

# (c) Lint and format check, then test. pytest's exit 5 ("no tests collected") is a failure here.
"$PYTHON" -m ruff check --quiet .
"$PYTHON" -m ruff format --check --quiet .
# Both cores (GRIDMAP_TEST_WORKERS=0 runs in one process), the coverage report of gridmap/ last.
rc=0
"$PYTHON" -m pytest -n "${GRIDMAP_TEST_WORKERS:-2}" --cov --cov-report=term "$@" || rc=$?
if ((rc == 5)); then
  echo "test.sh: pytest collected no tests - failing" >&2
  exit 1
fi
exit "$rc"
