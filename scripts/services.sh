#!/usr/bin/env bash
# Make sure the servers the test suite talks to are installed and answering on
# 127.0.0.1: PostgreSQL :5432, MariaDB :3306 and Redis :6379.
#
# Idempotent: when everything already answers it only probes and prints one line
# per service. A service that is installed but down is started; a missing one is
# installed from Debian packages (apt-get update runs only when something must be
# installed) and initialised so that the suite's default URLs work:
#   postgresql+psycopg://postgres@127.0.0.1:5432/test   (no password)
#   mysql+pymysql://root@127.0.0.1:3306/test            (root, empty password, TCP)
#   redis://127.0.0.1:6379/0
# Exits non-zero with a clear message when a service cannot be brought up.
# Never stops or kills anything.
#
# Usage: scripts/services.sh [--only postgresql,mariadb,redis] [--chromium]
#                            [--redis-port PORT] [--timeout SECONDS]
set -Eeuo pipefail

readonly HOST=127.0.0.1
PG_PORT=5432
MYSQL_PORT=3306
REDIS_PORT=${SESSIONWARE_REDIS_PORT:-6379}
TIMEOUT=${SESSIONWARE_SERVICES_TIMEOUT:-60}
# One probe may not hang on a port that accepts but never answers.
readonly PROBE_TIMEOUT=5
SERVICES=postgresql,mariadb,redis
WANT_CHROMIUM=0
APT_UPDATED=0
STEP_LOG=$(mktemp -t sessionware-services.XXXXXX)
trap 'rm -f "$STEP_LOG"' EXIT
# An unexpected failure (set -e) should still say where it happened.
trap 'echo "services.sh: command failed (line $LINENO): $BASH_COMMAND" >&2' ERR

usage() {
  sed -n '2,/^set -Eeuo/{/^#/s/^# \{0,1\}//p}' "$0"
}

die() {
  echo "services.sh: $*" >&2
  exit 1
}

report() { # service, detail
  printf '%-11s ok  %s\n' "$1:" "$2"
}

parse_args() {
  while (($#)); do
    case $1 in
      --only) SERVICES=${2:?--only needs a comma-separated list}; shift ;;
      --chromium) WANT_CHROMIUM=1 ;;
      --redis-port) REDIS_PORT=${2:?--redis-port needs a port}; shift ;;
      --timeout) TIMEOUT=${2:?--timeout needs seconds}; shift ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
  done
  [[ $REDIS_PORT =~ ^[0-9]+$ ]] || die "--redis-port must be a number, got '$REDIS_PORT'"
  [[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout must be whole seconds, got '$TIMEOUT'"
}

wants() { # service name -> is it selected by --only?
  [[ ",$SERVICES," == *",$1,"* ]]
}

# Run a probe command until it succeeds or TIMEOUT seconds pass.
wait_until() {
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

apt_install() {
  if ((APT_UPDATED == 0)); then
    echo "services.sh: apt-get update (installing: $*)" >&2
    apt-get update -qq >"$STEP_LOG" 2>&1 || { cat "$STEP_LOG" >&2; die "apt-get update failed"; }
    APT_UPDATED=1
  fi
  echo "services.sh: apt-get install $*" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >"$STEP_LOG" 2>&1 || { cat "$STEP_LOG" >&2; die "apt-get install $* failed"; }
}

# --------------------------------------------------------------------- PostgreSQL

pg_psql() { # database, psql args... ; connects exactly as the test URL does
  timeout "$PROBE_TIMEOUT" psql "postgresql://postgres@$HOST:$PG_PORT/$1" -w -X -q -v ON_ERROR_STOP=1 "${@:2}"
}

pg_accepts() { timeout "$PROBE_TIMEOUT" pg_isready -q -h "$HOST" -p "$PG_PORT"; }
pg_login_works() { pg_psql postgres -tAc 'select 1' >/dev/null 2>&1; }

# "version name" of the cluster configured for PG_PORT, empty when there is none.
pg_cluster_on_port() {
  pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2; exit }'
}

pg_ensure_cluster() {
  if [[ -z $(pg_cluster_on_port) ]]; then
    local version
    version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
    [[ -n $version ]] || die "postgresql: no server version under /usr/lib/postgresql"
    pg_createcluster "$version" main --port "$PG_PORT" >"$STEP_LOG" 2>&1 \
      || { cat "$STEP_LOG" >&2; die "postgresql: pg_createcluster $version main failed"; }
  fi
}

# Debian's default pg_hba asks for a password on TCP; the tests connect as postgres
# without one, so put trust lines for loopback first (only when a login fails).
pg_trust_loopback() {
  local version name hba
  read -r version name <<<"$(pg_cluster_on_port)"
  hba=/etc/postgresql/$version/$name/pg_hba.conf
  grep -q '^# sessionware-tests: trust loopback' "$hba" && return 0
  printf '%s\n' '# sessionware-tests: trust loopback' \
    "host all all 127.0.0.1/32 trust" "host all all ::1/128 trust" \
    | cat - "$hba" >"$hba.new"
  chown --reference="$hba" "$hba.new"
  chmod --reference="$hba" "$hba.new"
  mv "$hba.new" "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$version" "$name" reload
}

ensure_postgresql() {
  local how="already running"
  if ! pg_accepts; then
    if ! command -v pg_ctlcluster >/dev/null || [[ -z $(ls /usr/lib/postgresql 2>/dev/null) ]]; then
      apt_install postgresql
      how="installed, started"
    else
      how="started"
    fi
    pg_ensure_cluster
    local version name
    read -r version name <<<"$(pg_cluster_on_port)"
    # A failed start is reported below, with pg_ctlcluster's own words.
    pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start >"$STEP_LOG" 2>&1 || true
    wait_until pg_accepts || {
      cat "$STEP_LOG" >&2
      die "postgresql: not answering on $HOST:$PG_PORT after ${TIMEOUT}s (see /var/log/postgresql/)"
    }
  fi
  if ! pg_login_works; then
    pg_trust_loopback
    wait_until pg_login_works \
      || die "postgresql: user postgres cannot log in without a password on $HOST:$PG_PORT"
  fi
  if [[ $(pg_psql postgres -tAc "select 1 from pg_database where datname = 'test'") != 1 ]]; then
    pg_psql postgres -c 'create database test'
  fi
  report postgresql "postgresql+psycopg://postgres@$HOST:$PG_PORT/test ($how)"
}

# ------------------------------------------------------------------------ MariaDB

mysql_client() { command -v mariadb || command -v mysql; }
mysql_admin() { command -v mariadb-admin || command -v mysqladmin; }

# "ping" succeeds as soon as the server answers, even if the login is refused.
mysql_accepts() {
  timeout "$PROBE_TIMEOUT" "$(mysql_admin)" --protocol=tcp -h "$HOST" -P "$MYSQL_PORT" -u root ping
}
mysql_login_works() {
  timeout "$PROBE_TIMEOUT" "$(mysql_client)" --protocol=tcp -h "$HOST" -P "$MYSQL_PORT" -u root \
    -e 'select 1'
}

mysql_start() {
  # The Debian package creates the data directory; a half-installed one may not have.
  [[ -d /var/lib/mysql/mysql ]] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql \
    >"$STEP_LOG" 2>&1 || { cat "$STEP_LOG" >&2; die "mariadb: mariadb-install-db failed"; }
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  # --user: mariadbd refuses to run as root, and not every my.cnf names a user.
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
}

# A fresh Debian install lets root in only through the unix socket (unix_socket auth);
# the tests log in over TCP with an empty password, so allow that for loopback.
# Both accounts matter: with name resolution on (Debian's default) a TCP login from
# 127.0.0.1 is matched as root@localhost; with skip-name-resolve, as root@127.0.0.1.
mysql_allow_root_over_tcp() {
  "$(mysql_client)" --protocol=socket -u root <<'SQL'
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
FLUSH PRIVILEGES;
SQL
}

ensure_mariadb() {
  local how="already running"
  if ! mysql_accepts >/dev/null 2>&1; then
    if [[ ! -x /usr/sbin/mariadbd ]] || [[ -z $(mysql_client) ]]; then
      apt_install mariadb-server mariadb-client
      how="installed, started"
    else
      how="started"
    fi
    mysql_start
    wait_until mysql_accepts \
      || die "mariadb: not answering on $HOST:$MYSQL_PORT after ${TIMEOUT}s (see /var/log/mysql/)"
  fi
  if ! mysql_login_works >/dev/null 2>&1; then
    mysql_allow_root_over_tcp \
      || die "mariadb: root cannot log in over TCP and the unix-socket fix-up failed"
    mysql_login_works >/dev/null 2>&1 || die "mariadb: root still cannot log in on $HOST:$MYSQL_PORT"
  fi
  "$(mysql_client)" --protocol=tcp -h "$HOST" -P "$MYSQL_PORT" -u root \
    -e 'CREATE DATABASE IF NOT EXISTS test'
  report mariadb "mysql+pymysql://root@$HOST:$MYSQL_PORT/test ($how)"
}

# -------------------------------------------------------------------------- Redis

redis_answers() {
  [[ $(timeout "$PROBE_TIMEOUT" redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

redis_log() {
  if [[ $REDIS_PORT == 6379 ]]; then echo /var/log/redis/ci.log; else echo "/var/log/redis/ci-$REDIS_PORT.log"; fi
}

redis_start() {
  install -d /var/lib/redis /var/log/redis
  # No persistence: test data is throwaway, and no dump.rdb should appear anywhere.
  redis-server --daemonize yes --bind "$HOST" -::1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /var/lib/redis --logfile "$(redis_log)" \
    --pidfile "/var/lib/redis/ci-$REDIS_PORT.pid"
}

ensure_redis() {
  local how="already running"
  if ! redis_answers; then
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
      apt_install redis-server
      how="installed, started"
    else
      how="started"
    fi
    # The package's own service may have come up meanwhile; start ours only if not.
    redis_answers || redis_start
    wait_until redis_answers || {
      tail -n 5 "$(redis_log)" >&2 || true
      die "redis: not answering on $HOST:$REDIS_PORT after ${TIMEOUT}s (log: $(redis_log))"
    }
  fi
  report redis "redis://$HOST:$REDIS_PORT/0 ($how)"
}

# ----------------------------------------------------------------------- Chromium

ensure_chromium() {
  local how="already installed"
  if [[ ! -x /usr/bin/chromium ]] || [[ ! -x /usr/bin/chromedriver ]]; then
    apt_install chromium chromium-driver
    how="installed"
  fi
  report chromium "$(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium) ($how)"
}

main() {
  parse_args "$@"
  local service
  for service in ${SERVICES//,/ }; do
    case $service in
      postgresql | mariadb | redis) ;;
      *) die "unknown service '$service' (choose from postgresql, mariadb, redis)" ;;
    esac
  done
  if wants postgresql; then ensure_postgresql; fi
  if wants mariadb; then ensure_mariadb; fi
  if wants redis; then ensure_redis; fi
  if ((WANT_CHROMIUM)); then ensure_chromium; fi
}

# Run when executed; only define the functions when sourced (to test them).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
