# bench/lib/measure.sh: load generation (ApacheBench), CPU and memory sampling from /proc, and the
# figures it records into the results file (see record in common.sh). Renders nothing.

AB_DIR="$OUT/ab"
NMAX=3000000               # ab needs -n with -t; the time limit is what ends a run
CLK_TCK=$(getconf CLK_TCK)

tree_pids() { # pid and its direct children (nginx workers); threads are inside the process
  echo "$1"
  pgrep -P "$1" 2>/dev/null || true
}

cpu_ticks() { # summed utime+stime of a process tree
  local total=0 p stat
  for p in $(tree_pids "$1"); do
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    total=$(( total + ${12} + ${13} ))
  done
  echo "$total"
}

mem_kb() { # field (VmHWM|VmRSS) summed over a process tree, in kB
  local total=0 p v
  for p in $(tree_pids "$2"); do
    v=$(awk -v f="$1:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
    total=$(( total + ${v:-0} ))
  done
  echo "$total"
}

ab_num() { # file "Label:" -> first number after the label, 0 if absent
  awk -v l="$2" 'index($0, l) == 1 { sub(l, ""); print $1 + 0; found = 1; exit } END { if (!found) print 0 }' "$1"
}

busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; }
children_cpu_s() { # FILE written by the times builtin -> user+sys seconds of this shell's waited-for children
  awk 'NR == 2 { n = split($0, f, " "); s = 0; for (i = 1; i <= n; i++) { split(f[i], p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2] } print s }' "$1"
}

sum_recorded() { awk -F'\t' -v t="$1" -v m="$2" '$2 == t && $3 == m { s += $4 } END { print s + 0 }' "$RES"; }

# run_ab ROUND TARGET PHASE GENERATORS ab-args... ; records rps, failed, non2xx, and the CPU of
# ab, of the proxy, of the backend and of everything else on the machine during the phase
run_ab() {
  local round=$1 t=$2 phase=$3 gens=$4; shift 4
  local base="$AB_DIR/r$round-$t-$phase" g pids=() c0 c1 b0 b1 w0 w1 a0 a1 busy0 tot0 busy1 tot1
  c0=$(cpu_ticks "${MAINPID[$t]}"); b0=$(cpu_ticks "${MAINPID[backend]}")
  times > "$OUT/.times0"   # in this shell, not a subshell: ab's CPU shows up in its children's times
  read -r busy0 tot0 < <(busy_jiffies); w0=$(date +%s%N)
  for ((g = 1; g <= gens; g++)); do
    ab "$@" > "$base.g$g.txt" 2>&1 &
    pids+=($!); PIDS+=($!)
  done
  for g in "${pids[@]}"; do wait "$g" || true; forget_pid "$g"; done
  w1=$(date +%s%N); read -r busy1 tot1 < <(busy_jiffies)
  c1=$(cpu_ticks "${MAINPID[$t]}"); b1=$(cpu_ticks "${MAINPID[backend]}")
  times > "$OUT/.times1"; a0=$(children_cpu_s "$OUT/.times0"); a1=$(children_cpu_s "$OUT/.times1")
  local rps=0 complete=0 failed=0 non2xx=0 ka=0 eof=0 f
  for ((g = 1; g <= gens; g++)); do
    f="$base.g$g.txt"
    rps=$(awk -v a="$rps" -v b="$(ab_num "$f" 'Requests per second:')" 'BEGIN { printf "%.1f", a + b }')
    complete=$(( complete + $(ab_num "$f" 'Complete requests:') ))
    failed=$(( failed + $(ab_num "$f" 'Failed requests:') ))
    non2xx=$(( non2xx + $(ab_num "$f" 'Non-2xx responses:') ))
    ka=$(( ka + $(ab_num "$f" 'Keep-Alive requests:') ))
    eof=$(( eof + $(grep -c 'unexpected eof while reading' "$f" || true) ))
  done
  local secs pcpu bcpu abcpu allcpu other
  secs=$(awk -v ns="$((w1 - w0))" 'BEGIN { print ns / 1e9 }')
  pcpu=$(awk -v d="$((c1 - c0))" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f", d / hz / s * 100 }')
  bcpu=$(awk -v d="$((b1 - b0))" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f", d / hz / s * 100 }')
  abcpu=$(awk -v a="$a0" -v b="$a1" -v s="$secs" 'BEGIN { printf "%.0f", (b - a) / s * 100 }')
  allcpu=$(awk -v b="$((busy1 - busy0))" -v t="$((tot1 - tot0))" -v n="$(nproc)" 'BEGIN { printf "%.0f", t ? b / t * n * 100 : 0 }')
  if [[ $t == backend ]]; then other=$(( allcpu - abcpu - pcpu )); else other=$(( allcpu - abcpu - pcpu - bcpu )); fi
  (( other < 0 )) && other=0
  record "$round" "$t" "$phase.rps" "$rps"
  record "$round" "$t" "$phase.complete" "$complete"
  record "$round" "$t" "$phase.failed" "$failed"
  record "$round" "$t" "$phase.non2xx" "$non2xx"
  record "$round" "$t" "$phase.keepalive" "$ka"
  record "$round" "$t" "$phase.tlseof" "$eof"
  record "$round" "$t" "$phase.abcpu" "$abcpu"
  record "$round" "$t" "$phase.proxycpu" "$pcpu"
  record "$round" "$t" "$phase.backendcpu" "$bcpu"
  record "$round" "$t" "$phase.othercpu" "$other"
  # CPU time the proxy spent per completed request: less sensitive to background load than req/s.
  (( complete > 0 )) && record "$round" "$t" "$phase.cpu_us" "$(awk -v d="$((c1 - c0))" -v hz="$CLK_TCK" -v n="$complete" 'BEGIN { printf "%.1f", d / hz / n * 1e6 }')"
  if [[ -s "$base.g1.csv" ]]; then
    record "$round" "$t" "$phase.p50" "$(awk -F, '$1 == 50 { print $2 }' "$base.g1.csv")"
    record "$round" "$t" "$phase.p99" "$(awk -F, '$1 == 99 { print $2 }' "$base.g1.csv")"
  fi
  local proto; proto=$(sed -n 's/^SSL\/TLS Protocol: *//p' "$base.g1.txt" | head -1)
  [[ -n $proto ]] && record "$round" "$t" "$phase.tls" "$proto"
  log "  r$round $t $phase: $rps req/s ($complete done, failed $failed, non-2xx $non2xx, TLS EOF without close_notify $eof; cpu: ab ${abcpu}%, $t ${pcpu}%$( [[ $t == backend ]] || echo ", backend ${bcpu}%"), other ${other}%)"
}

# s_time sends "GET <path> HTTP/1.0" and no Host header, which nginx answers with 400: the path
# carries one, and the request's own " HTTP/1.0" ends up as the value of a dummy header.
STIME_PATH=$'/ HTTP/1.0\r\nHost: localhost\r\nX-Bench:'

# run_stime ROUND TARGET PHASE: resumed handshakes. RES_GENERATORS `openssl s_time -reuse` processes
# in parallel (ab cannot resume a session): each makes one full handshake with the client
# certificate, then a new TCP connection per request that resumes that session (TLS 1.3 ticket, as
# negotiated by default), sends `GET / HTTP/1.0` (with a Host header) and reads the response to the close. s_time prints
# one character per connection: 'r' resumed, '*' a full handshake; both are recorded, so a proxy
# that does not resume shows up as such. Same CPU bookkeeping as run_ab.
run_stime() {
  local round=$1 t=$2 phase=$3
  local base="$AB_DIR/r$round-$t-$phase" g pids=() c0 c1 b0 b1 w0 w1 a0 a1 busy0 tot0 busy1 tot1
  c0=$(cpu_ticks "${MAINPID[$t]}"); b0=$(cpu_ticks "${MAINPID[backend]}")
  times > "$OUT/.times0"
  read -r busy0 tot0 < <(busy_jiffies); w0=$(date +%s%N)
  for ((g = 1; g <= RES_GENERATORS; g++)); do
    openssl s_time -connect "127.0.0.1:${PORT[$t]}" -www "$STIME_PATH" -CAfile "$OUT/pki/ca.pem" \
      -cert "$OUT/pki/client.pem" -key "$OUT/pki/client.key" -reuse -time "$D_RES" > "$base.g$g.txt" 2>&1 &
    pids+=($!); PIDS+=($!)
  done
  for g in "${pids[@]}"; do wait "$g" || true; forget_pid "$g"; done
  w1=$(date +%s%N); read -r busy1 tot1 < <(busy_jiffies)
  c1=$(cpu_ticks "${MAINPID[$t]}"); b1=$(cpu_ticks "${MAINPID[backend]}")
  times > "$OUT/.times1"; a0=$(children_cpu_s "$OUT/.times0"); a1=$(children_cpu_s "$OUT/.times1")
  local complete=0 reused=0 fresh=0 bytes=0 f
  for ((g = 1; g <= RES_GENERATORS; g++)); do
    f="$base.g$g.txt"
    # "N connections in T real seconds, B bytes read per connection"
    complete=$(( complete + $(awk '/connections in [0-9]+ real seconds/ { print $1 + 0; found = 1; exit } END { if (!found) print 0 }' "$f") ))
    bytes=$(( bytes + $(awk '/bytes read per connection/ { print int($(NF - 4)); found = 1; exit } END { if (!found) print 0 }' "$f") ))
    reused=$(( reused + $(grep -E '^[r*]+$' "$f" | tr -cd 'r' | wc -c) ))
    fresh=$(( fresh + $(grep -E '^[r*]+$' "$f" | tr -cd '*' | wc -c) ))
  done
  local secs rps pcpu bcpu abcpu allcpu other
  secs=$(awk -v ns="$((w1 - w0))" 'BEGIN { print ns / 1e9 }')
  rps=$(awk -v n="$complete" -v s="$secs" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')
  pcpu=$(awk -v d="$((c1 - c0))" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f", d / hz / s * 100 }')
  bcpu=$(awk -v d="$((b1 - b0))" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f", d / hz / s * 100 }')
  abcpu=$(awk -v a="$a0" -v b="$a1" -v s="$secs" 'BEGIN { printf "%.0f", (b - a) / s * 100 }')
  allcpu=$(awk -v b="$((busy1 - busy0))" -v t="$((tot1 - tot0))" -v n="$(nproc)" 'BEGIN { printf "%.0f", t ? b / t * n * 100 : 0 }')
  other=$(( allcpu - abcpu - pcpu - bcpu )); (( other < 0 )) && other=0
  record "$round" "$t" "$phase.rps" "$rps"
  record "$round" "$t" "$phase.complete" "$complete"
  record "$round" "$t" "$phase.reused" "$reused"
  record "$round" "$t" "$phase.fresh" "$fresh"
  record "$round" "$t" "$phase.bytes_per_conn" "$(awk -v b="$bytes" -v g="$RES_GENERATORS" 'BEGIN { printf "%.0f", b / g }')"
  record "$round" "$t" "$phase.abcpu" "$abcpu"
  record "$round" "$t" "$phase.proxycpu" "$pcpu"
  record "$round" "$t" "$phase.backendcpu" "$bcpu"
  record "$round" "$t" "$phase.othercpu" "$other"
  (( complete > 0 )) && record "$round" "$t" "$phase.cpu_us" "$(awk -v d="$((c1 - c0))" -v hz="$CLK_TCK" -v n="$complete" 'BEGIN { printf "%.1f", d / hz / n * 1e6 }')"
  log "  r$round $t $phase: $rps conn/s ($complete done, $reused resumed, $fresh full; cpu: s_time ${abcpu}%, $t ${pcpu}%, backend ${bcpu}%, other ${other}%)"
}

# Between phases our own processes are idle, so machine CPU then is other people's work (this
# machine may be shared). Wait up to QUIET_MAX seconds for it to drop below half a core; log if not.
wait_quiet() {
  local i b0 t0 b1 t1 pct
  (( QUIET_MAX > 0 )) || { sleep 0.5; return 0; }
  for ((i = 0; i < QUIET_MAX * 2; i++)); do
    read -r b0 t0 < <(busy_jiffies); sleep 0.5; read -r b1 t1 < <(busy_jiffies)
    pct=$(awk -v b="$((b1 - b0))" -v t="$((t1 - t0))" -v n="$(nproc)" 'BEGIN { printf "%.0f", t ? b / t * n * 100 : 0 }')
    (( pct < 50 )) && return 0
  done
  log "  machine still busy (${pct}% of a core used by other processes) after ${QUIET_MAX}s; measuring anyway"
}

measure_phase() { # round target phase
  local round=$1 t=$2 phase=$3 url cert=()
  url=$(url_of "$t")
  [[ $t != backend ]] && cert=(-E "$OUT/pki/client-bundle.pem")
  local base="$AB_DIR/r$round-$t-$phase"
  case "$phase" in
    ka)   # keep-alive throughput; the -e table of generator 1 also gives p50/p99 at this concurrency
      local per=$(( CONC / GENERATORS > 0 ? CONC / GENERATORS : 1 ))
      run_ab "$round" "$t" ka "$GENERATORS" -q -k -c "$per" -t "$D_KA" -n "$NMAX" "${cert[@]}" -e "$base.g1.csv" "$url" ;;
    hs)   # a new TCP+TLS connection with the client certificate per request
      run_ab "$round" "$t" hs 1 -q -c "$CONC" -t "$D_HS" -n "$NMAX" "${cert[@]}" "$url" ;;
    deny) # a new TLS connection without a certificate per request: expect 404 (non-2xx) for all
      run_ab "$round" "$t" deny 1 -q -c "$CONC" -t "$D_DENY" -n "$NMAX" "$url" ;;
    res)  # resumed TLS handshakes with the client certificate's session, a new connection per request
      run_stime "$round" "$t" res ;;
    lat)  # latency at a fixed, lower concurrency, keep-alive
      run_ab "$round" "$t" lat 1 -q -k -c "$LAT_CONC" -t "$D_LAT" -n "$NMAX" "${cert[@]}" -e "$base.g1.csv" "$url" ;;
  esac
}

warm_up() { # not recorded: D_WARM s keep-alive and D_WARM s handshakes per target
  local t cert
  for t in "$@"; do
    cert=(); [[ $t != backend ]] && cert=(-E "$OUT/pki/client-bundle.pem")
    ab -q -k -c "$CONC" -t "$D_WARM" -n "$NMAX" "${cert[@]}" "$(url_of "$t")" > "$AB_DIR/warm-$t-ka.txt" 2>&1 || true
    ab -q -c "$CONC" -t "$D_WARM" -n "$NMAX" "${cert[@]}" "$(url_of "$t")" > "$AB_DIR/warm-$t-hs.txt" 2>&1 || true
    if [[ $t != backend ]]; then   # the resumed-handshake path, a third as long
      local g w=$(( D_WARM / 3 > 1 ? D_WARM / 3 : 1 )) wpids=()
      for ((g = 1; g <= RES_GENERATORS; g++)); do
        openssl s_time -connect "127.0.0.1:${PORT[$t]}" -www "$STIME_PATH" -CAfile "$OUT/pki/ca.pem" -cert "$OUT/pki/client.pem" \
          -key "$OUT/pki/client.key" -reuse -time "$w" > "$AB_DIR/warm-$t-res.g$g.txt" 2>&1 &
        wpids+=($!); PIDS+=($!)
      done
      for g in "${wpids[@]}"; do wait "$g" || true; forget_pid "$g"; done
    fi
  done
}

rounds() { # interleaved: for each round, each phase, each target in turn
  local round phase t
  for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round of $ROUNDS"
    for phase in ka hs res deny lat; do
      for t in "$@"; do
        [[ " $(phases_of "$t") " == *" $phase "* ]] || continue
        wait_quiet
        measure_phase "$round" "$t" "$phase"
      done
    done
  done
}

after_rounds() { # memory at the end, and access-log lines written vs requests sent
  local t sent logf pattern
  sleep 2
  for t in "$@"; do
    record 0 "$t" mem.hwm_kb "$(mem_kb VmHWM "${MAINPID[$t]}")"
    record 0 "$t" mem.rss_kb "$(mem_kb VmRSS "${MAINPID[$t]}")"
  done
  # ab runs incl. warm-up, plus the pre-flight curls.
  for t in "$@"; do
    case $t in
      nginx) logf="$OUT/nginx/access.log"; pattern='HTTP/1' ;;
      haproxy) logf="$OUT/haproxy/access.log"; pattern=' fe~ ' ;;
      caddy) logf="$OUT/caddy/access.log"; pattern='"status"' ;;
      mtlsgate) logf="$OUT/mtlsgate/gateway.log"; pattern='MtlsGate.Access:' ;;
      mtlsgate@*) logf="$OUT/compare/gateway.log"; pattern='MtlsGate.Access:' ;;
      *) continue ;;
    esac
    sent=$(cat "$AB_DIR"/r*-"$t"-*.g*.txt "$AB_DIR"/warm-"$t"-*.txt 2>/dev/null | awk '/^Complete requests:/ { s += $3 } END { print s + 0 }')
    record 0 "$t" log.sent "$(( sent + $(sum_recorded "$t" log.curl) ))"
    # Caddy rolls its log at 100 MB into gzipped files beside it: count those too.
    record 0 "$t" log.lines "$(zcat -f "${logf%.log}"*.log* 2>/dev/null | grep -c -- "$pattern" || true)"
  done
}

# idle_phase TARGET...: IDLE_CONNS idle connections held open at once, first keep-alive (one request
# each), then WebSocket (an upgrade to the ws backend each), through each target in turn; records
# the target's RSS before and with them open, how many opened, and the established connections on
# its port (ss), from which the report derives the memory per idle connection.
idle_phase() {
  local t mode fifo out pid i line opened failed resumed rss0 rss1 est n
  for t in "$@"; do
    for mode in ka ws; do
      # A proxied WebSocket holds two sockets in the proxy (client and backend): stay under the open-file limit.
      n=$IDLE_CONNS
      [[ $mode == ws ]] && (( n > (NOFILE - 500) / 2 )) && n=$(( (NOFILE - 500) / 2 ))
      wait_quiet
      fifo="$OUT/.idle-fifo"; out="$AB_DIR/idle-$t-$mode.txt"
      rm -f "$fifo"; mkfifo "$fifo"
      rss0=$(mem_kb VmRSS "${MAINPID[$t]}")
      python3 "$HERE/lib/idle_clients.py" "${PORT[$t]}" "$n" "$mode" "$OUT/pki/ca.pem" "$OUT/pki/client.pem" "$OUT/pki/client.key" \
        < "$fifo" > "$out" 2>&1 &
      pid=$!; PIDS+=("$pid")
      exec 7> "$fifo"   # holds the client's stdin open until the measurement is done
      line=
      for ((i = 0; i < 3000; i++)); do   # up to 300 s to open them all
        line=$(grep -m1 '^open ' "$out" 2>/dev/null || true)
        [[ -n $line ]] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      sleep 2
      rss1=$(mem_kb VmRSS "${MAINPID[$t]}")
      est=$(ss -Htn state established "( sport = :${PORT[$t]} )" 2>/dev/null | wc -l)
      read -r _ opened _ failed _ resumed <<< "${line:-open 0 failed $n resumed 0}"
      exec 7>&-
      wait "$pid" 2>/dev/null || true; forget_pid "$pid"; rm -f "$fifo"
      record 0 "$t" "idle.$mode.opened" "$opened"
      record 0 "$t" "idle.$mode.failed" "$failed"
      record 0 "$t" "idle.$mode.resumed" "$resumed"
      record 0 "$t" "idle.$mode.attempted" "$n"
      record 0 "$t" "idle.$mode.established" "$est"
      record 0 "$t" "idle.$mode.rss0_kb" "$rss0"
      record 0 "$t" "idle.$mode.rss1_kb" "$rss1"
      log "  idle $t $mode: $opened of $n open ($failed failed, $resumed resumed, $est established on the port), RSS $((rss0 / 1024)) -> $((rss1 / 1024)) MB"
      sleep 3   # let the closes settle before the next
    done
  done
}
