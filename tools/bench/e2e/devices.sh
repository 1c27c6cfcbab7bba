# Sourced by run.sh and profile.sh: a private mosquitto on a free loopback
# port and edgerund's config for a bench variant. They read and set the
# caller's globals:
#   in:  script_name, mosquitto_bin, broker_nodelay (true|false), window,
#        queue_capacity, workers, max_payload_bytes (each may be empty),
#        gateway_config (config/edgerun.json), and, unset or empty for
#        edgerund's own defaults: journal_sync (off | none | batch | always:
#        journal.enabled false, or journal.sync that mode) and state_base
#        (state_dir is <state_base>/<basename of the run's dir>/state
#        rather than <the run's dir>/state)
#   out: port, broker_pid; pids (an array the caller stops on exit) grows
# shellcheck shell=bash disable=SC2154  # the globals above are the caller's

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts a private broker; sets $port and $broker_pid.
start_broker() {
  local dir=$1 i
  port=$(free_port)
  mkdir -p "$dir"
  # max_queued_messages: mosquitto drops QoS 1 messages to a slow client past
  # 100 queued; a benchmark must never lose a status to that.
  # set_tcp_nodelay (unless --no-broker-nodelay): without it the broker holds
  # a small packet until the peer's delayed ACK, about 40 ms, whenever one is
  # already unacknowledged, so at window 1 every job waits for that. The
  # project README tells operators to set it.
  cat >"$dir/mosquitto.conf" <<EOF
listener $port 127.0.0.1
set_tcp_nodelay $broker_nodelay
allow_anonymous true
persistence false
user $(id -un)
max_queued_messages 100000
log_dest file $dir/mosquitto.log
EOF
  "$mosquitto_bin" -c "$dir/mosquitto.conf" >"$dir/mosquitto.out" 2>&1 &
  broker_pid=$!
  pids+=("$broker_pid")
  for ((i = 0; i < 50; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$script_name: mosquitto did not listen on 127.0.0.1:$port within 5 s:" >&2
  cat "$dir/mosquitto.out" "$dir/mosquitto.log" >&2 2>/dev/null || true
  return 1
}

# Writes edgerund's config for variant $1 to $2/edgerun.json.
write_edgerund_config() {
  local v=$1 dir=$2 state journal=null
  state=$dir/state
  [[ -z ${state_base:-} ]] || state=$state_base/$(basename "$dir")/state
  mkdir -p "$dir" "$state"
  case ${journal_sync:-} in
    "") ;;
    off) journal='{"enabled": false}' ;;
    none | batch | always)
      journal="{\"enabled\": true, \"sync\": \"$journal_sync\"${journal_batch_ms:+, \"batch_ms\": $journal_batch_ms}}" ;;
    *) echo "$script_name: journal_sync '$journal_sync' is not off, none, batch or always" >&2; return 1 ;;
  esac
  if [[ $v == edgerund-gateway ]]; then
    # The gateway defaults, as shipped; only what points at this run changes
    # (and jobs.queue_capacity / workers / the journal when given).
    jq --arg url "mqtt://127.0.0.1:$port" --arg state "$state" \
      --argjson q "${queue_capacity:-null}" --argjson w "${workers:-null}" --argjson journal "$journal" '
      .device_id = "bench-01" | .mqtt.url = $url | .state_dir = $state
      | if $q != null then .jobs.queue_capacity = $q else . end
      | if $w != null then .workers = $w else . end
      | if $journal != null then .journal = (.journal // {}) + $journal else . end' "$gateway_config" >"$dir/edgerun.json"
    return
  fi
  # The bench's config: everything at its default except what the bench
  # needs: a queue that never refuses the window, no periodic telemetry in
  # the measured window, few log lines; the journal as journal_sync says.
  local q=${queue_capacity:-$((window > 64 ? window : 64))}
  jq -n --arg url "mqtt://127.0.0.1:$port" --arg state "$state" --argjson q "$q" --argjson journal "$journal" \
    --argjson progress "$([[ $v == edgerund-progress ]] && echo true || echo false)" \
    --argjson w "${workers:-null}" --argjson payload "${max_payload_bytes:-null}" \
    --argjson exec "$([[ $v == edgerund-exec ]] && echo true || echo false)" '
    {device_id: "bench-01"}
    + (if $w != null then {workers: $w} else {} end)
    + {state_dir: $state, mqtt: {url: $url},
       jobs: ({queue_capacity: $q, report_progress: $progress}
              + (if $payload != null then {max_payload_bytes: $payload, max_result_bytes: $payload} else {} end)),
       telemetry: {interval_ms: 3600000}, log: {level: "warn"}}
    + (if $payload != null and 4 * $payload > 262144 then {memory: {json_arena_bytes: (4 * $payload)}} else {} end)
    + (if $exec then {exec: {"true": {program: "/bin/true"}}} else {} end)
    + (if $journal != null then {journal: $journal} else {} end)' >"$dir/edgerun.json"
}

