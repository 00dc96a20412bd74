# pg.sh - a throwaway PostgreSQL for the source tests: pg_start initdbs a cluster in $TMP (as
# the postgres user when run as root; initdb refuses root), with password authentication on
# 127.0.0.1, starts it on a free port and sets PG_PORT and PG_URL (user tarn, password
# tarnpw, database shop); pg_stop stops it. Sourced after lib.sh.
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PG_DIR=$TMP/pg
PG_PORT=
PG_URL=

pg_as() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
    [ -x "$PG_BIN/initdb" ] || return 1
    mkdir -p "$PG_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR" && chmod 755 "$TMP"
    echo tarnpw >"$PG_DIR/pw" && [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR/pw"
    pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U tarn --pwfile="$PG_DIR/pw" \
        --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 || return 1
    for _ in 1 2 3 4 5; do
        PG_PORT=$(shuf -i 20000-60999 -n 1)
        port_free "$PG_PORT" || continue
        if pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 30 -l "$PG_DIR/log" \
            -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null 2>&1; then
            PG_URL="postgresql://tarn:tarnpw@127.0.0.1:$PG_PORT/shop"
            pg_as "$PG_BIN/psql" -q -h "$PG_DIR" -p "$PG_PORT" -U tarn -d postgres \
                -c "CREATE DATABASE shop" >/dev/null
            return 0
        fi
    done
    return 1
}

# psql_shop SQL...: run SQL on the source database (over the socket, as tarn)
psql_shop() { pg_as "$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U tarn -d shop "$@"; }

pg_stop() {
    [ -n "$PG_PORT" ] && pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
    PG_PORT=
}
