#!/usr/bin/env bash
# mm-stack.sh — a REAL Mattermost server + the Apps plugin (com.mattermost.apps v1.2.2)
# + PostgreSQL, all on 127.0.0.1, for end-to-end tests of a remote HTTP Mattermost App.
# No Docker, no internet: the server and the plugin are built from their Go modules
# (Go module proxy), PostgreSQL comes from Debian's package.
#
#   mm-stack.sh up         build what is missing (cold: ~8 min on 2 cores; warm: ~15 s),
#                          start postgres + mattermost, enable the Apps plugin, create an
#                          admin, a plain user and a team; write $ROOT/session.env
#   mm-stack.sh env        print session.env (source it: MM_URL, MM_ADMIN_TOKEN, MM_USER_TOKEN,
#                          MM_TEAM_ID, MM_CHANNEL_ID, MM_ADMIN_ID, MM_USER_ID, MM_APPS_API, ...)
#   mm-stack.sh install-app MANIFEST_URL [JWT_SECRET]
#                          install an HTTP app exactly as the webapp does for
#                          '/apps install http MANIFEST_URL' (two calls to the built-in 'apps' app:
#                          /install-http, then /install-consent with values consent, deploy_type and
#                          secret = the JWT secret the plugin signs calls with when use_jwt is true)
#   mm-stack.sh down       stop mattermost and postgres (by PID files)
#   mm-stack.sh clean      down + wipe database and server state (keeps the built binaries)
#
# Env: MM_STACK_ROOT (default /var/tmp/mm-stack), PG_PORT (54329), MM_PORT (8065),
#      SERVER_FLAVOR=v9 (default: Mattermost 9.9.0) or v7 (7.7.0, the commit the plugin was built on).
# Facts worth knowing (checked):
#  - Apps v1.x slash commands are parsed by the client, not the server: /api/v4/commands/execute
#    answers 404 for an app command. Drive an app command the way the webapp does: GET
#    $MM_APPS_API/bindings?channel_id=..&team_id=..&user_agent=webapp, find the binding, then
#    POST $MM_APPS_API/call {"path":..,"expand":..,"values":..,"context":{"app_id","channel_id",
#    "team_id","location","user_agent":"webapp"},"raw_command":".."} with a user's Bearer token.
#  - Calls to the built-in 'apps' app need "expand":{"acting_user":"+summary","locale":"all"}.
#  - AllowedUntrustedInternalConnections is "127.0.0.1 localhost" so the server can reach an app on
#    loopback. No webapp is installed: the server logs "failed to open root.html", harmlessly.
set -euo pipefail

# /var/tmp, not $HOME/.cache: initdb runs as the postgres user, who cannot traverse /root (0700).
ROOT=${MM_STACK_ROOT:-/var/tmp/mm-stack}
export GOTOOLCHAIN=local
SERVER_FLAVOR=${SERVER_FLAVOR:-v9}
case $SERVER_FLAVOR in
  v7) SERVER_MOD=github.com/mattermost/mattermost-server/v6
      SERVER_VER=v6.0.0-20230113170349-ea08d47f6051
      SERVER_EXTRA_REQ=""
      MM_BIN_NAME=mattermost-v7 ;;
  v9) SERVER_MOD=github.com/mattermost/mattermost/server/v8
      SERVER_VER=v8.0.0-20240520151130-4bdd8bb18e47
      SERVER_EXTRA_REQ=github.com/mattermost/mattermost/server/public@v0.1.3
      MM_BIN_NAME=mattermost-v9 ;;
  *) echo "SERVER_FLAVOR must be v9 or v7" >&2; exit 2 ;;
esac
APPS_MOD=github.com/mattermost/mattermost-plugin-apps
APPS_VER=v1.2.2

PG_PORT=${PG_PORT:-54329}
MM_PORT=${MM_PORT:-8065}
MM=http://127.0.0.1:$MM_PORT
APPS_API=$MM/plugins/com.mattermost.apps/api/v1
S=$ROOT/mmserver-$SERVER_FLAVOR      # server working dir
SOCK=$S/mattermost_local.socket      # local-mode socket (acts as sysadmin, no auth)
BIN=$ROOT/bin
ADMIN_USER=admin
ADMIN_PASS='Admin-Passw0rd!'
PLAIN_USER=alice
PLAIN_PASS='Alice-Passw0rd!'
TEAM=e2e

T_START=$(date +%s.%N)
log() { printf '[mm-stack %6.1fs] %s\n' "$(echo "$(date +%s.%N) - $T_START" | bc)" "$*" >&2; }
mkdir -p "$ROOT" "$BIN"
chmod 755 "$ROOT"   # the postgres user must traverse it
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }

# ---------------------------------------------------------------- postgres
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
pg_up() {
  if [ -z "$(pgbin)" ]; then
    log "apt-get install postgresql"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local PGBIN; PGBIN=$(pgbin)
  mkdir -p "$ROOT/pgdata" "$ROOT/pgsock"
  chown postgres:postgres "$ROOT/pgdata" "$ROOT/pgsock"
  if [ ! -f "$ROOT/pgdata/PG_VERSION" ]; then
    log "initdb $ROOT/pgdata"
    su postgres -c "$PGBIN/initdb -D $ROOT/pgdata -U postgres -A trust -E UTF8 --locale=C.UTF-8" >"$ROOT/pgsock/initdb.log" 2>&1
  fi
  if ! su postgres -c "$PGBIN/pg_ctl -D $ROOT/pgdata status" >/dev/null 2>&1; then
    log "start postgres on 127.0.0.1:$PG_PORT"
    su postgres -c "$PGBIN/pg_ctl -D $ROOT/pgdata -l $ROOT/pgsock/pg.log -o '-c listen_addresses=127.0.0.1 -p $PG_PORT -k $ROOT/pgsock' -w start" >/dev/null
  fi
  local PSQL="psql -h 127.0.0.1 -p $PG_PORT -U postgres -tAq"
  [ "$($PSQL -c "select 1 from pg_roles where rolname='mmuser'")" = 1 ] || $PSQL -c "create user mmuser with password 'mmpass'"
  [ "$($PSQL -c "select 1 from pg_database where datname='mattermost'")" = 1 ] || $PSQL -c "create database mattermost owner mmuser"
  log "postgres ready (pid $(head -1 "$ROOT/pgdata/postmaster.pid"))"
}
pg_down() {
  local PGBIN; PGBIN=$(pgbin)
  [ -n "$PGBIN" ] && [ -f "$ROOT/pgdata/postmaster.pid" ] && su postgres -c "$PGBIN/pg_ctl -D $ROOT/pgdata -m fast -w stop" || true
}

# ------------------------------------------------------------ go builds
# A wrapper module whose go.mod is a copy of the upstream module's go.mod
# (same requires + excludes => identical dependency versions), plus a require
# of the upstream module itself. `go install pkg@version` is refused because
# the server go.mod has exclude directives; this sidesteps that.
wrapper_module() { # dir upstream_mod upstream_ver import_path [extra module@version]
  local dir=$1 mod=$2 ver=$3 imp=$4 extra=${5:-} src
  mkdir -p "$dir"
  src=$(go mod download -json "$mod@$ver" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  if [ ! -f "$dir/go.mod" ]; then
    sed "s#^module .*#module $(basename "$dir")#" "$src/go.mod" >"$dir/go.mod"
    cp "$src/go.sum" "$dir/go.sum"; chmod u+w "$dir/go.mod" "$dir/go.sum"
    (cd "$dir" && go mod edit -require="$mod@$ver")
    [ -z "$extra" ] || (cd "$dir" && go mod edit -require="$extra")
  fi
  if [ -n "$imp" ] && [ ! -f "$dir/tools.go" ]; then
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$imp" >"$dir/tools.go"
  fi
  (cd "$dir" && go get "$mod@$ver" $extra >/dev/null 2>&1 || go get "$mod@$ver" $extra)
  echo "$src"
}

build_server() {
  [ -x "$BIN/$MM_BIN_NAME" ] && { log "server binary present ($SERVER_FLAVOR)"; return; }
  log "building mattermost server $SERVER_MOD@$SERVER_VER (cold: ~5 min on 2 cores)"
  wrapper_module "$ROOT/mmbuild-$SERVER_FLAVOR" $SERVER_MOD $SERVER_VER $SERVER_MOD/cmd/mattermost "$SERVER_EXTRA_REQ" >/dev/null
  (cd "$ROOT/mmbuild-$SERVER_FLAVOR" && go build -o "$BIN/$MM_BIN_NAME" $SERVER_MOD/cmd/mattermost)
  log "server built: $(du -h "$BIN/$MM_BIN_NAME" | cut -f1)"
}

build_apps_plugin() {
  local tgz=$ROOT/appsbuild/com.mattermost.apps-${APPS_VER#v}-linux-amd64.tar.gz
  [ -f "$tgz" ] && { log "apps plugin bundle present"; return; }
  log "building apps plugin $APPS_VER"
  local src; src=$(wrapper_module "$ROOT/appsbuild" $APPS_MOD $APPS_VER $APPS_MOD/server)
  local B=$ROOT/appsbuild/bundle/com.mattermost.apps
  rm -rf "$ROOT/appsbuild/bundle"; mkdir -p "$B/server/dist"
  (cd "$ROOT/appsbuild" && go build -o "$B/server/dist/plugin-linux-amd64" $APPS_MOD/server)
  cp -r "$src/assets" "$B/"; chmod -R u+w "$B"
  echo '{}' >"$B/assets/manifests.json"   # no marketplace manifests (would be fetched from S3 in cloud mode)
  python3 - "$src/plugin.json" "$B/plugin.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m['server'] = {'executables': {'linux-amd64': 'server/dist/plugin-linux-amd64'}}
m.pop('webapp', None)          # server-only bundle
json.dump(m, open(sys.argv[2], 'w'), indent=2)
EOF
  tar -C "$ROOT/appsbuild/bundle" -czf "$tgz" com.mattermost.apps
  log "apps plugin bundle: $tgz ($(du -h "$tgz" | cut -f1))"
}

# ------------------------------------------------------------ mattermost
server_config() {
  local src; src=$(go mod download -json "$SERVER_MOD@$SERVER_VER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$S/config" "$S/logs" "$S/data" "$S/plugins" "$S/client/plugins"
  for d in i18n templates fonts; do   # the server looks these up relative to its cwd
    [ -d "$S/$d" ] || { cp -r "$src/$d" "$S/$d"; chmod -R u+w "$S/$d"; }
  done
  # No webapp ("client/") is needed for the REST API; the server only logs
  # "failed to open root.html". Config file is written once; the server may rewrite it.
  [ -f "$S/config/config.json" ] && return
  cat >"$S/config/config.json" <<EOF
{
  "ServiceSettings": {
    "SiteURL": "$MM", "ListenAddress": "127.0.0.1:$MM_PORT",
    "EnableLocalMode": true, "LocalModeSocketLocation": "$SOCK",
    "EnableDeveloper": true, "EnableTesting": false,
    "EnableBotAccountCreation": true, "EnableUserAccessTokens": true,
    "EnableOAuthServiceProvider": true, "EnableCommands": true,
    "EnablePostUsernameOverride": true, "EnablePostIconOverride": true,
    "AllowedUntrustedInternalConnections": "127.0.0.1 localhost",
    "EnableSecurityFixAlert": false, "EnableLinkPreviews": false, "EnableGifPicker": false
  },
  "TeamSettings": {"EnableOpenServer": true, "EnableUserCreation": true},
  "SqlSettings": {
    "DriverName": "postgres",
    "DataSource": "postgres://mmuser:mmpass@127.0.0.1:$PG_PORT/mattermost?sslmode=disable&connect_timeout=10"
  },
  "LogSettings": {
    "EnableConsole": true, "ConsoleLevel": "DEBUG", "ConsoleJson": false,
    "EnableFile": true, "FileLevel": "DEBUG", "FileJson": true, "FileLocation": "$S/logs",
    "EnableDiagnostics": false, "EnableSentry": false
  },
  "FileSettings": {"DriverName": "local", "Directory": "$S/data/"},
  "EmailSettings": {"SendEmailNotifications": false, "RequireEmailVerification": false, "SendPushNotifications": false},
  "PluginSettings": {
    "Enable": true, "EnableUploads": true,
    "Directory": "$S/plugins", "ClientDirectory": "$S/client/plugins",
    "EnableMarketplace": false, "EnableRemoteMarketplace": false,
    "AutomaticPrepackagedPlugins": false, "RequirePluginSignature": false,
    "PluginStates": {
      "com.mattermost.nps": {"Enable": false}, "playbooks": {"Enable": false},
      "focalboard": {"Enable": false}, "com.mattermost.calls": {"Enable": false},
      "com.mattermost.apps": {"Enable": true}
    }
  },
  "AnnouncementSettings": {"AdminNoticesEnabled": false, "UserNoticesEnabled": false},
  "MetricsSettings": {"Enable": false}, "ClusterSettings": {"Enable": false},
  "ImageProxySettings": {"Enable": false}, "RateLimitSettings": {"Enable": false}
}
EOF
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

server_up() {
  server_config
  if alive "$S/server.pid" && curl -sf "$MM/api/v4/system/ping" >/dev/null; then log "mattermost already up"; return; fi
  log "starting mattermost on $MM"
  local t0; t0=$(date +%s.%N)
  cd "$S"
  nohup "$BIN/$MM_BIN_NAME" server --config "$S/config/config.json" >>"$S/server.out" 2>&1 &
  echo $! >"$S/server.pid"
  cd "$ROOT"
  for _ in $(seq 1 180); do curl -sf "$MM/api/v4/system/ping" >/dev/null && break; sleep 0.5; done
  curl -sf "$MM/api/v4/system/ping" >/dev/null || { tail -50 "$S/server.out"; exit 1; }
  log "mattermost $(curl -sf "$MM/api/v4/config/client?format=old" | jget 'd["Version"]') up (pid $(cat "$S/server.pid")) after $(echo "$(date +%s.%N) - $t0" | bc)s"
}

L() { curl -sf --unix-socket "$SOCK" "$@"; }          # local mode: implicit sysadmin
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

mkuser() { # username password -> id
  if ! L "http://localhost/api/v4/users/username/$1" >/dev/null 2>&1; then
    L -X POST http://localhost/api/v4/users \
      -d "{\"username\":\"$1\",\"email\":\"$1@example.com\",\"password\":\"$2\"}" >/dev/null
  fi
  L "http://localhost/api/v4/users/username/$1" | jget 'd["id"]'
}
login() { # username password -> session token
  curl -sf -i -X POST "$MM/api/v4/users/login" -d "{\"login_id\":\"$1\",\"password\":\"$2\"}" \
    | awk -F': ' 'tolower($1)=="token"{print $2}' | tr -d '\r'
}

bootstrap() {
  log "users + team via the local-mode socket"
  ADMIN_ID=$(mkuser "$ADMIN_USER" "$ADMIN_PASS")
  L -X PUT "http://localhost/api/v4/users/$ADMIN_ID/roles" -d '{"roles":"system_user system_admin"}' >/dev/null
  USER_ID=$(mkuser "$PLAIN_USER" "$PLAIN_PASS")
  L -X PUT "http://localhost/api/v4/users/$USER_ID/roles" -d '{"roles":"system_user"}' >/dev/null
  if ! L "http://localhost/api/v4/teams/name/$TEAM" >/dev/null 2>&1; then
    L -X POST http://localhost/api/v4/teams -d "{\"name\":\"$TEAM\",\"display_name\":\"E2E\",\"type\":\"O\"}" >/dev/null
  fi
  TEAM_ID=$(L "http://localhost/api/v4/teams/name/$TEAM" | jget 'd["id"]')
  for u in "$ADMIN_ID" "$USER_ID"; do
    L -X POST "http://localhost/api/v4/teams/$TEAM_ID/members" -d "{\"team_id\":\"$TEAM_ID\",\"user_id\":\"$u\"}" >/dev/null
  done
  CHANNEL_ID=$(L "http://localhost/api/v4/teams/$TEAM_ID/channels/name/town-square" | jget 'd["id"]')
  TOKEN=$(login "$ADMIN_USER" "$ADMIN_PASS")
  USER_TOKEN=$(login "$PLAIN_USER" "$PLAIN_PASS")
  cat >"$ROOT/session.env" <<ENV
MM_URL=$MM
MM_APPS_API=$APPS_API
MM_SOCKET=$SOCK
MM_ADMIN_USERNAME=$ADMIN_USER
MM_ADMIN_PASSWORD='$ADMIN_PASS'
MM_ADMIN_ID=$ADMIN_ID
MM_ADMIN_TOKEN=$TOKEN
MM_USER_USERNAME=$PLAIN_USER
MM_USER_PASSWORD='$PLAIN_PASS'
MM_USER_ID=$USER_ID
MM_USER_TOKEN=$USER_TOKEN
MM_TEAM_ID=$TEAM_ID
MM_CHANNEL_ID=$CHANNEL_ID
MM_SERVER_LOG=$S/server.out
ENV
  log "admin=$ADMIN_ID user=$USER_ID team=$TEAM_ID channel=$CHANNEL_ID"
}

A() { curl -sf -H "Authorization: Bearer $TOKEN" "$@"; }  # authenticated as admin over HTTP

plugin_up() {
  local tgz=$ROOT/appsbuild/com.mattermost.apps-${APPS_VER#v}-linux-amd64.tar.gz
  local st; st=$(A "$MM/api/v4/plugins/statuses" | jget '[p["state"] for p in d if p["plugin_id"]=="com.mattermost.apps"]')
  if [ "$st" != "[2]" ]; then
    log "uploading + enabling apps plugin"
    L -X POST http://localhost/api/v4/plugins -F "plugin=@$tgz" -F force=true >/dev/null
    L -X POST http://localhost/api/v4/plugins/com.mattermost.apps/enable >/dev/null
    for _ in $(seq 1 60); do
      st=$(A "$MM/api/v4/plugins/statuses" | jget '[p["state"] for p in d if p["plugin_id"]=="com.mattermost.apps"]')
      [ "$st" = "[2]" ] && break; sleep 0.5
    done
  fi
  [ "$st" = "[2]" ] || { echo "apps plugin not running: $st"; grep -i apps "$S/server.out" | tail -20; exit 1; }
  log "apps plugin running; ping: $(A -X POST "$APPS_API/ping" -d '{}')"
}

ctx() { echo "\"context\":{\"app_id\":\"$1\",\"channel_id\":\"$MM_CHANNEL_ID\",\"team_id\":\"$MM_TEAM_ID\",\"location\":\"$2\",\"user_agent\":\"webapp\"}"; }

install_app() { # MANIFEST_URL [JWT_SECRET]
  local url=$1 jwt=${2:-}
  # shellcheck disable=SC1091
  . "$ROOT/session.env"
  TOKEN=$MM_ADMIN_TOKEN
  local EXP='"expand":{"acting_user":"+summary","locale":"all"}'
  log "install: what the webapp does for '/apps install http $url'"
  local r1; r1=$(A -X POST "$APPS_API/call" -d "{\"path\":\"/install-http\",$EXP,\"values\":{\"url\":\"$url\"},$(ctx apps /command/apps/install/http),\"raw_command\":\"/apps install http $url\"}")
  local app_id; app_id=$(curl -sf "$url" | jget 'd["app_id"]')
  echo "$r1" | grep -q '"type":"form"' || { echo "install-http answered: $r1" >&2; exit 1; }
  local r2; r2=$(A -X POST "$APPS_API/call" -d "{\"path\":\"/install-consent\",$EXP,\"state\":\"$app_id\",\"values\":{\"consent\":true,\"secret\":\"$jwt\",\"deploy_type\":{\"label\":\"HTTP\",\"value\":\"http\"}},$(ctx apps /command/apps/install/http)}")
  echo "$r2" | grep -q "Installed app" || { echo "install-consent answered: $r2" >&2; exit 1; }
  log "installed $app_id"
}

down() {
  local f=$S/server.pid
  if alive "$f"; then kill "$(cat "$f")"; for _ in $(seq 1 40); do alive "$f" || break; sleep 0.25; done; fi
  rm -f "$f"
  pg_down
  log "down"
}

case "${1:-up}" in
  up)
    pg_up
    build_server
    build_apps_plugin
    server_up
    bootstrap
    plugin_up
    log "ready: source $ROOT/session.env"
    ;;
  env) cat "$ROOT/session.env" ;;
  install-app) [ $# -ge 2 ] || { echo "usage: $0 install-app MANIFEST_URL [JWT_SECRET]" >&2; exit 2; }; install_app "$2" "${3:-}" ;;
  down) down ;;
  clean) down; rm -rf "$ROOT/pgdata" "$ROOT/pgsock" "$S" "$ROOT/session.env"; log "cleaned state" ;;
  *) echo "usage: $0 up|env|install-app URL|down|clean" >&2; exit 2 ;;
esac
