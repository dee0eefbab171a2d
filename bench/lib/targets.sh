# bench/lib/targets.sh: the targets' configurations (from bench/templates), starting them,
# checking them, stopping everything this run started, and the gateway's cold starts.
# Expects TARGETS, PORT, MAINPID, BROKEN, PIDS and the P_* ports from bench/run.

BACKEND_BODY="hello from the bench backend"

# ---------------------------------------------------------------- cleanup: everything we started
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((${#PIDS[@]})); then
    log "stopping ${#PIDS[@]} process(es) started by this run"
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for _ in $(seq 1 30); do
      local alive=0
      for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      ((alive)) || break
      sleep 0.1
    done
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  fi
  [[ -n ${COMPARE_SRC:-} ]] && rm -rf "$COMPARE_SRC"
  exit "$rc"
}

start_bg() { # name logfile cmd...
  local name=$1 logf=$2; shift 2
  "$@" >"$logf" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  MAINPID[$name]=$pid
}

forget_pid() { local keep=() p; for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done; PIDS=("${keep[@]}"); }

wait_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

url_of() { if [[ $1 == backend ]]; then echo "http://127.0.0.1:${PORT[$1]}/"; else echo "https://127.0.0.1:${PORT[$1]}/"; fi; }
phases_of() { if [[ $1 == backend ]]; then echo "ka hs lat"; else echo "ka hs res deny lat"; fi; }

# ---------------------------------------------------------------- configurations
write_configs() {
  local pki="$OUT/pki" d
  rm -rf "$OUT/backend" "$OUT/nginx" "$OUT/haproxy" "$OUT/caddy" "$OUT/mtlsgate" "$OUT/compare"
  d="$OUT/backend"; mkdir -p "$d/tmp"
  render backend.conf.tmpl "$d/nginx.conf" DIR="$d" P_BACKEND="$P_BACKEND" BACKEND_BODY="$BACKEND_BODY"
  d="$OUT/nginx"; mkdir -p "$d/tmp"
  render nginx.conf.tmpl "$d/nginx.conf" DIR="$d" PKI="$pki" PORT="$P_NGINX" P_BACKEND="$P_BACKEND" P_WS="$P_WS"
  d="$OUT/haproxy"; mkdir -p "$d"
  render haproxy.cfg.tmpl "$d/haproxy.cfg" DIR="$d" PKI="$pki" PORT="$P_HAPROXY" P_BACKEND="$P_BACKEND"
  d="$OUT/caddy"; mkdir -p "$d/data" "$d/config"
  render Caddyfile.tmpl "$d/Caddyfile" DIR="$d" PKI="$pki" PORT="$P_CADDY" P_BACKEND="$P_BACKEND"
  render floor.args.tmpl "$OUT/floor.args" PKI="$pki" PORT="$P_FLOOR" P_BACKEND="$P_BACKEND"
  # The gateway: only listen ports, certificate paths and the backend address are overridden; the
  # rest (policy, access logging, forwarding) is the published appsettings.json as shipped.
  d="$OUT/mtlsgate"; mkdir -p "$d"
  render mtlsgate.json.tmpl "$d/bench.json" PORT="$P_GATEWAY" MGMT_PORT="$P_GATEWAY_MGMT" P_BACKEND="$P_BACKEND" P_WS="$P_WS"
  render mtlsgate.json.tmpl "$d/cold.json" PORT="$P_COLD" MGMT_PORT="$P_COLD_MGMT" P_BACKEND="$P_BACKEND" P_WS="$P_WS"
  if [[ -n $COMPARE_TARGET ]]; then
    d="$OUT/compare"; mkdir -p "$d"
    render mtlsgate.json.tmpl "$d/bench.json" PORT="$P_COMPARE" MGMT_PORT="$P_COMPARE_MGMT" P_BACKEND="$P_BACKEND" P_WS="$P_WS"
  fi
}

# ---------------------------------------------------------------- starting
start_targets() {
  log "starting backend, nginx, HAProxy and Caddy"
  start_bg backend "$OUT/backend/stdout.log" nginx -p "$OUT/backend/" -e "$OUT/backend/error.log" -c "$OUT/backend/nginx.conf"
  wait_port "$P_BACKEND" 10 || die "backend did not start; see bench/out/backend/"
  start_bg wsbackend "$OUT/ws-backend.log" python3 "$HERE/lib/ws_backend.py" "$P_WS"
  wait_port "$P_WS" 10 || die "the WebSocket backend did not start; see bench/out/ws-backend.log"
  start_bg nginx "$OUT/nginx/stdout.log" nginx -p "$OUT/nginx/" -e "$OUT/nginx/error.log" -c "$OUT/nginx/nginx.conf"
  start_bg haproxy "$OUT/haproxy/access.log" haproxy -db -f "$OUT/haproxy/haproxy.cfg"
  start_bg caddy "$OUT/caddy/stdout.log" env HOME="$OUT/caddy" XDG_DATA_HOME="$OUT/caddy/data" XDG_CONFIG_HOME="$OUT/caddy/config" \
    caddy run --config "$OUT/caddy/Caddyfile" --adapter caddyfile
  local t
  for t in nginx haproxy caddy; do
    wait_port "${PORT[$t]}" 15 || { BROKEN[$t]="did not start listening; see bench/out/$t/"; log "$t did not start"; }
  done
  local floor_args; mapfile -t floor_args < "$OUT/floor.args"
  start_bg floor "$OUT/floor.log" "$OUT/floor/floor" "${floor_args[@]}"
  wait_port "$P_FLOOR" 20 || { BROKEN[floor]="did not start listening; see bench/out/floor.log"; log "floor did not start"; }
}

start_gateways() {
  log "starting the gateway for the load rounds"
  start_bg mtlsgate "$OUT/mtlsgate/gateway.log" "$OUT/gateway/mtlsgate" --config "$OUT/mtlsgate/bench.json"
  if [[ -n $COMPARE_TARGET ]]; then
    start_bg "$COMPARE_TARGET" "$OUT/compare/gateway.log" "$OUT/gateway-compare/mtlsgate" --config "$OUT/compare/bench.json"
    wait_port "$P_COMPARE" 20 || BROKEN[$COMPARE_TARGET]="did not start listening; see bench/out/compare/gateway.log"
  fi
  wait_port "$P_GATEWAY" 20 || BROKEN[mtlsgate]="did not start listening; see bench/out/mtlsgate/gateway.log"
  sleep 0.5
}

# ---------------------------------------------------------------- checks
curl_code() { # url [curl args...]
  local url=$1; shift
  curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$OUT/pki/ca.pem" "$@" "$url" 2>/dev/null || true
}

# check_target T: 200 and the backend's body with the client certificate, 404 without one; what a
# certificate from another CA gets is recorded. A target failing the first two is not measured.
check_target() {
  local t=$1 port=${PORT[$1]} pki="$OUT/pki"
  if [[ $t == backend ]]; then
    local body; body=$(curl -sS --max-time 5 "http://127.0.0.1:$port/" 2>/dev/null || true)
    record 0 "$t" check.with "$([[ $body == "$BACKEND_BODY" ]] && echo 200 || echo FAIL)"
    record 0 "$t" check.without "-"; record 0 "$t" check.rogue "-"
    [[ $body == "$BACKEND_BODY" ]] || BROKEN[$t]="backend did not answer its body"
    return
  fi
  local url="https://127.0.0.1:$port/check" with without rogue body
  with=$(curl_code "$url" --cert "$pki/client.pem" --key "$pki/client.key")
  body=$(curl -sS --max-time 5 --cacert "$pki/ca.pem" --cert "$pki/client.pem" --key "$pki/client.key" "$url" 2>/dev/null || true)
  without=$(curl_code "$url")
  rogue=$(curl_code "$url" --cert "$pki/rogue.pem" --key "$pki/rogue.key")
  record 0 "$t" log.curl "$(( 3 + (rogue != 0) ))"
  [[ $rogue == 000 ]] && rogue="TLS handshake refused"
  record 0 "$t" check.with "$with"; record 0 "$t" check.without "$without"; record 0 "$t" check.rogue "$rogue"
  if [[ $with != 200 || $body != "$BACKEND_BODY" ]]; then BROKEN[$t]="with the client certificate: HTTP $with (expected 200 and the backend body)"
  elif [[ $without != 404 ]]; then BROKEN[$t]="without a certificate: HTTP $without (expected 404)"
  fi
  if [[ -n ${BROKEN[$t]:-} ]]; then log "CHECK FAILED for $t: ${BROKEN[$t]}"; else log "check $t: 200 with cert, 404 without, untrusted cert -> $rogue"; fi
}

# ---------------------------------------------------------------- gateway start-up
cold_starts() {
  local i t0 t1 pid code ms
  for ((i = 1; i <= STARTS; i++)); do
    t0=$(date +%s%N)
    "$OUT/gateway/mtlsgate" --config "$OUT/mtlsgate/cold.json" > "$OUT/mtlsgate/cold-$i.log" 2>&1 &
    pid=$!; PIDS+=("$pid")
    code=000
    while :; do
      code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$OUT/pki/ca.pem" \
        --cert "$OUT/pki/client.pem" --key "$OUT/pki/client.key" "https://127.0.0.1:$P_COLD/" 2>/dev/null || true)
      [[ $code == 200 ]] && break
      (( ($(date +%s%N) - t0) > 20000000000 )) && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.005
    done
    t1=$(date +%s%N)
    if [[ $code == 200 ]]; then
      ms=$(( (t1 - t0) / 1000000 ))
      record "$i" mtlsgate startup_ms "$ms"
      # CPU the process used until then (user + system): what other load on the machine distorts least.
      local cpu_ms; cpu_ms=$(( $(cpu_ticks "$pid") * 1000 / CLK_TCK ))
      record "$i" mtlsgate startup_cpu_ms "$cpu_ms"
      log "  cold start $i: first 200 after $ms ms ($cpu_ms ms of CPU)"
    else
      log "  cold start $i: no 200 (last status $code); see bench/out/mtlsgate/cold-$i.log"
      record "$i" mtlsgate startup_ms NA
    fi
    kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
  done
}
