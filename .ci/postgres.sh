#!/usr/bin/env bash
# Start (or reuse) a throwaway PostgreSQL cluster for the PostgresLedger tests.
#
#   eval "$(bash .ci/postgres.sh)"     # sets LAWFUL_POSTGRES_DSN
#
# On a fresh Debian machine, as root, it installs PostgreSQL from the system packages when
# no server binaries are found, runs the server as the `postgres` user (the server refuses
# to run as root) on 127.0.0.1 only, with its data, socket and log under /tmp, creates a
# role and a database owned by it, waits until a TCP login works, and prints one line on
# stdout: `export LAWFUL_POSTGRES_DSN=...`. Everything else goes to stderr. Run again, it
# reuses the running cluster. Run as another user, it runs the server as that user and
# never calls apt-get.
#
# The cluster is for tests only: its password is fixed and it listens on loopback only.
# Settings (environment): LAWFUL_PG_PORT (54329), LAWFUL_PG_BASE (/tmp/lawful-pg-PORT),
# LAWFUL_PG_BINDIR (where initdb and pg_ctl live; found if unset).
set -euo pipefail
cd /  # the server user may not be able to read the caller's folder

PORT="${LAWFUL_PG_PORT:-54329}"
BASE="${LAWFUL_PG_BASE:-/tmp/lawful-pg-${PORT}}"
DATA="${BASE}/data"
SOCK="${BASE}/sock"
LOG="${BASE}/server.log"
DB_NAME="lawful"
DB_USER="lawful"
DB_PASSWORD="lawful-test-only"
DSN="postgresql://${DB_USER}:${DB_PASSWORD}@127.0.0.1:${PORT}/${DB_NAME}"

say() { printf 'postgres.sh: %s\n' "$*" >&2; }

diagnose() {
    say "failed; diagnostics follow"
    say "bindir=${BINDIR:-unknown} base=${BASE} port=${PORT} user=$(id -un)"
    if [[ -n "${BINDIR:-}" && -d "${DATA}" ]]; then
        as_owner "${BINDIR}/pg_ctl" status -D "${DATA}" >&2 || true
    fi
    if [[ -f "${LOG}" ]]; then
        say "last lines of ${LOG}:"
        tail -n 40 "${LOG}" >&2 || true
    fi
    if command -v ss >/dev/null 2>&1; then
        say "listeners on port ${PORT}:"
        ss -ltnp "sport = :${PORT}" >&2 || true
    fi
}
trap 'status=$?; if [[ ${status} -ne 0 ]]; then diagnose; fi' EXIT

if [[ ${EUID} -eq 0 ]]; then
    OWNER="postgres"
else
    OWNER="$(id -un)"
fi

# Runs a command as the cluster's owner (root may not run the server or initdb).
as_owner() {
    if [[ "${OWNER}" == "$(id -un)" ]]; then
        "$@"
    else
        runuser -u "${OWNER}" -- "$@"
    fi
}

find_bindir() {
    if [[ -n "${LAWFUL_PG_BINDIR:-}" ]]; then
        printf '%s\n' "${LAWFUL_PG_BINDIR}"
        return 0
    fi
    # Debian keeps server binaries out of PATH, one folder per major version: take the newest.
    local candidate
    candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "${candidate}" && -x "${candidate}/initdb" && -x "${candidate}/pg_ctl" ]]; then
        printf '%s\n' "${candidate}"
        return 0
    fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    return 1
}

BINDIR="$(find_bindir || true)"
if [[ -z "${BINDIR}" ]]; then
    if [[ ${EUID} -ne 0 ]]; then
        say "no PostgreSQL server binaries found and not root: install the postgresql package"
        exit 1
    fi
    say "installing PostgreSQL from the system packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
    BINDIR="$(find_bindir)"
fi
if [[ ! -x "${BINDIR}/initdb" || ! -x "${BINDIR}/pg_ctl" ]]; then
    say "no initdb and pg_ctl in ${BINDIR}"
    exit 1
fi
say "using ${BINDIR} ($("${BINDIR}/postgres" --version))"

if [[ ${EUID} -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
    # The Debian package creates this user; a server installed otherwise may not have.
    useradd --system --home-dir "${BASE}" --shell /usr/sbin/nologin postgres
fi

mkdir -p "${BASE}" "${SOCK}"
if [[ ${EUID} -eq 0 ]]; then
    chown "${OWNER}:" "${BASE}" "${SOCK}"
fi
chmod 0700 "${BASE}" "${SOCK}"

if [[ ! -f "${DATA}/PG_VERSION" ]]; then
    # Ours and throwaway: a folder left half made by an interrupted run is made again.
    rm -rf "${DATA}"
    say "initialising a cluster in ${DATA}"
    # Local (socket) logins by the owner only, via peer; TCP logins need a password.
    as_owner "${BINDIR}/initdb" -D "${DATA}" -U "${OWNER}" -E UTF8 --locale=C \
        --auth-local=peer --auth-host=scram-sha-256 >&2
    # Loopback only, socket in a private folder; settings live with the data so that a
    # restart by hand behaves the same.
    as_owner tee -a "${DATA}/postgresql.conf" >/dev/null <<EOF
# lawful test cluster (.ci/postgres.sh)
listen_addresses = '127.0.0.1'
port = ${PORT}
unix_socket_directories = '${SOCK}'
max_connections = 100
EOF
fi

# Ready means accepting connections on the socket we manage, from its owner (peer login).
ready() {
    as_owner "${BINDIR}/pg_isready" -q -h "${SOCK}" -p "${PORT}" -U "${OWNER}" -d postgres
}

# A server left by a killed run may still be exiting, or recovering: look again a few
# times before starting one, and start again if a start loses that race.
for attempt in 1 2 3 4 5; do
    if as_owner "${BINDIR}/pg_ctl" status -D "${DATA}" >/dev/null 2>&1; then
        for _ in $(seq 1 30); do
            if ready; then
                break 2
            fi
            sleep 1
        done
        say "a server is running in ${DATA} but not accepting connections (attempt ${attempt})"
    else
        say "starting the cluster on 127.0.0.1:${PORT} (attempt ${attempt})"
        if as_owner "${BINDIR}/pg_ctl" start -D "${DATA}" -l "${LOG}" -w -t 60 >&2 && ready; then
            break
        fi
    fi
    sleep 2
done
ready || { say "the server did not become ready"; exit 1; }
say "accepting connections on ${SOCK} and 127.0.0.1:${PORT}"

psql_admin() {
    as_owner "${BINDIR}/psql" -X -q -v ON_ERROR_STOP=1 -h "${SOCK}" -p "${PORT}" \
        -U "${OWNER}" -d postgres "$@"
}

if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '${DB_USER}'")" != "1" ]]; then
    say "creating role ${DB_USER}"
    psql_admin -c "CREATE ROLE ${DB_USER} LOGIN PASSWORD '${DB_PASSWORD}'" >&2
fi
if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'")" != "1" ]]; then
    say "creating database ${DB_NAME}"
    psql_admin -c "CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}" >&2
fi

# The tests log in over TCP with the password, exactly as the DSN says: check that path.
PGCONNECT_TIMEOUT=10 "${BINDIR}/psql" -X -q -v ON_ERROR_STOP=1 "${DSN}" -tAc "SELECT 1" >/dev/null
say "ready: ${DSN}"
printf "export LAWFUL_POSTGRES_DSN='%s'\n" "${DSN}"
