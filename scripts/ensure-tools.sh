#!/usr/bin/env bash
# Installs what the checks need when it is missing: the Supabase CLI and
# the TypeScript tools of the frontend types check (pinned, from npm, into
# .tools/ of this checkout) and plpgsql_check for the local PostgreSQL
# (Debian's package), which `supabase db lint` uses. Prints the CLI's path
# on stdout. Nothing is installed twice. `ensure-tools.sh typescript`
# installs only the TypeScript tools.
set -euo pipefail
cd "$(dirname "$0")/.."
cli_version=2.117.0
openapi_typescript_version=7.13.0
openapi_fetch_version=0.17.0
typescript_version=5.9.3
tools=.tools
cli="$tools/node_modules/.bin/supabase"

# installed NAME VERSION: whether .tools holds exactly that npm package.
installed() {
  [ "$(node -p "require('./$tools/node_modules/$1/package.json').version" 2>/dev/null)" = "$2" ]
}

ensure_typescript() {
  if installed openapi-typescript "$openapi_typescript_version" && installed openapi-fetch "$openapi_fetch_version" &&
    installed typescript "$typescript_version"; then
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "ensure-tools: npm is needed for the frontend types check (apt-get install nodejs npm)" >&2
    exit 1
  fi
  echo "ensure-tools: installing openapi-typescript, openapi-fetch and typescript into $tools" >&2
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error -E "openapi-typescript@$openapi_typescript_version" \
    "openapi-fetch@$openapi_fetch_version" "typescript@$typescript_version" >&2
}

if [ "${1:-}" = typescript ]; then
  ensure_typescript
  exit 0
fi
if command -v node >/dev/null 2>&1; then
  ensure_typescript
fi

if [ ! -x "$cli" ] || [ "$("$cli" --version 2>/dev/null)" != "$cli_version" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "ensure-tools: npm is needed to install the Supabase CLI (apt-get install nodejs npm)" >&2
    exit 1
  fi
  echo "ensure-tools: installing supabase@$cli_version into $tools" >&2
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error -E "supabase@$cli_version" >&2
fi

# plpgsql_check must match the server's major version.
major=$(psql -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" -U postgres -XAtqc "show server_version_num" 2>/dev/null | cut -c1-2 || true)
if [ -n "$major" ] && [ ! -f "/usr/share/postgresql/$major/extension/plpgsql_check.control" ]; then
  pkg="postgresql-$major-plpgsql-check"
  echo "ensure-tools: installing $pkg for supabase db lint" >&2
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2; }
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2
  fi
fi
echo "$(pwd)/$cli"
