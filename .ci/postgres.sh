# Sourced by ./dev test: make a PostgreSQL server on loopback available to the test suite.
# Uses CREDITLINE_TEST_POSTGRES_URL if already set; otherwise installs Debian's postgresql (as
# root), starts the cluster and creates a test role and database. Safe to run repeatedly.

if [ -z "${CREDITLINE_TEST_POSTGRES_URL:-}" ]; then
  if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "==> installing PostgreSQL (Debian package)"
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
    fi
  fi
  if command -v pg_lsclusters >/dev/null 2>&1 && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
    read -r pg_version pg_cluster _ < <(pg_lsclusters -h | head -n 1)
    if ! pg_lsclusters -h | head -n 1 | grep -q online; then
      echo "==> starting PostgreSQL $pg_version/$pg_cluster"
      pg_ctlcluster "$pg_version" "$pg_cluster" start
    fi
    for _ in $(seq 30); do
      su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
      sleep 0.5
    done
    su postgres -c "psql -qAtc \"select 1 from pg_roles where rolname='creditline'\"" | grep -q 1 ||
      su postgres -c "psql -qc \"CREATE ROLE creditline LOGIN PASSWORD 'creditline' CREATEDB\""
    su postgres -c "psql -qAtc \"select 1 from pg_database where datname='creditline_test'\"" |
      grep -q 1 || su postgres -c "createdb -O creditline creditline_test"
    export CREDITLINE_TEST_POSTGRES_URL="postgresql+psycopg://creditline:creditline@127.0.0.1:5432/creditline_test"
  else
    echo "!! no PostgreSQL available: PostgreSQL tests will fail; run as root or set" \
      "CREDITLINE_TEST_POSTGRES_URL" >&2
  fi
fi
