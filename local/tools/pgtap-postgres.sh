#!/usr/bin/env bash
# Runs the pgTAP suites of supabase/tests on a real Postgres instead of PGlite:
#
#   local/tools/pgtap-postgres.sh [--install-extensions] postgres://postgres@127.0.0.1:5432/empty_db
#
# Into the given database, which must be empty: local/platform.sql (the local stack's stand-in
# for what a Supabase project has before its migrations: roles, auth, storage, grants), every
# migration in order, the seed and pgTAP; then each suite with psql, as `supabase test db` does.
# Prints one line per suite and exits non-zero if any assertion fails.
#
# The server needs pgvector (0.8 or later) and pgTAP, and the local stack's emulated pg_cron,
# pg_net and supabase_vault (control file and script, as local/postgres/pglite.ts installs them
# into PGlite). --install-extensions writes those into `pg_config --sharedir`/extension, which
# needs write access there (a local server). Runs as a superuser: platform.sql creates roles and
# schemas that hosted Supabase owns.
set -euo pipefail

install_extensions=false
if [[ "${1:-}" == "--install-extensions" ]]; then
  install_extensions=true
  shift
fi
url=${1:?usage: $0 [--install-extensions] postgres://user@host:port/empty_database}
root=$(cd "$(dirname "$0")/../.." && pwd)
prelude='set search_path = "$user", public, extensions;'

run_sql() { psql "$url" -X -q -v ON_ERROR_STOP=1 "$@"; }
apply() { { echo "$prelude"; cat "$1"; } | run_sql -1 >/dev/null; }

if $install_extensions; then
  dir="$(pg_config --sharedir)/extension"
  # name, version, control settings: the same as EMULATED_EXTENSIONS in local/postgres/pglite.ts.
  while IFS='|' read -r name version control; do
    printf "comment = 'emulated by the local stack'\ndefault_version = '%s'\n%b\n" \
      "$version" "$control" >"$dir/$name.control"
    cp "$root/local/extensions/$name.sql" "$dir/$name--$version.sql"
  done <<'EOF'
supabase_vault|0.3.1|schema = vault\nrelocatable = false
pg_net|0.20.4|relocatable = false
pg_cron|1.6|schema = pg_catalog\nrelocatable = false
EOF
fi

for extension in vector pgtap pg_cron pg_net supabase_vault; do
  if [[ -z "$(run_sql -Atc "select 1 from pg_available_extensions where name = '$extension'")" ]]; then
    echo "The server has no extension $extension (see the comment at the top of $0)." >&2
    exit 2
  fi
done

{
  echo "$prelude"
  echo "select set_config('local_stack.auto_expose_new_tables', 'false', false);"
  cat "$root/local/platform.sql"
} | run_sql >/dev/null
for migration in "$root"/supabase/migrations/*.sql; do apply "$migration"; done
apply "$root/supabase/seed.sql"
run_sql -c 'create extension if not exists pgtap with schema extensions'
run_sql -c "alter database \"$(run_sql -Atc 'select current_database()')\" set search_path = \"\$user\", public, extensions"

failed=0
cd "$root/supabase/tests"
for suite in [0-9]*.sql; do
  output=$(psql "$url" -X -At -f "$suite" 2>&1) || true
  plan=$(grep -m1 -oE '^1\.\.[0-9]+' <<<"$output" | cut -d. -f3 || true)
  passed=$(grep -c '^ok' <<<"$output" || true)
  not_ok=$(grep -c '^not ok' <<<"$output" || true)
  if [[ -z "$plan" || "$passed" != "$plan" || "$not_ok" != 0 ]] || grep -q 'ERROR' <<<"$output"; then
    failed=1
    echo "FAIL $suite: $passed of ${plan:-?} passed"
    grep -E '^not ok|^#|ERROR' <<<"$output" | head -20
  else
    echo "ok   $suite: $passed of $plan"
  fi
done
exit $failed
