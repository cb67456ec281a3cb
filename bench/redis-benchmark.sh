#!/usr/bin/env bash
# redis-benchmark.sh: the raw XADD throughput of a local redis-server, as a
# ceiling for BenchmarkRedisChain. It starts a private redis-server on a free
# loopback port (no persistence, as internal/redistest does), runs
# redis-benchmark XADD without pipelining (-P 1) and with 64 commands per
# round trip (-P 64), then stops the server.
#
#   bench/redis-benchmark.sh            # 200000 requests each
#   N=1000000 bench/redis-benchmark.sh
#
# Besides the two runs on a tiny entry (field value), it runs both again with
# an entry the size of a Séance chain envelope (one "event" field of ~300
# bytes), which is what BenchmarkRedisChain writes.
set -euo pipefail

N=${N:-200000}
for bin in redis-server redis-benchmark redis-cli; do
	command -v "$bin" >/dev/null || { echo "redis-benchmark.sh: $bin is not on PATH" >&2; exit 1; }
done

# A free port: one nothing answers on.
port=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 40000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		port=$p
		break
	fi
done
[ -n "$port" ] || { echo "redis-benchmark.sh: no free port found" >&2; exit 1; }

dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$dir" --loglevel warning >"$dir/log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT

for _ in $(seq 100); do
	redis-cli -p "$port" ping >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$dir/log" >&2; exit 1; }
	sleep 0.1
done

echo "$(redis-server --version | cut -d' ' -f1-3), port $port, $N requests, $(nproc) CPUs"
envelope='{"id":"019ab0c4-5f1e-7a3b-9c2d-4e5f6a7b8c9d","timestamp":"2026-11-23T11:00:00.123456789Z","event_type":"SPIRIT_APPEARED","payload":{"Ritual":123,"Spirit":"Lenore","Mood":0},"causation_id":"019ab0c4-5f1e-7a3b-9c2d-4e5f6a7b8c9e","correlation_id":"019ab0c4-5f1e-7a3b-9c2d-4e5f6a7b8c9e"}'

# run LABEL P ARGS...: one redis-benchmark run, its final line only.
run() {
	local label=$1 P=$2
	shift 2
	printf '%-42s -P %-3s ' "$label" "$P"
	redis-benchmark -p "$port" -n "$N" -q -P "$P" "$@" | tr '\r' '\n' |
		grep 'requests per second' | tail -1 | sed 's/.*: \([0-9.]* requests per second\)/\1/'
	redis-cli -p "$port" del "$2" >/dev/null # the stream: the key after XADD
}
for P in 1 64; do
	run "XADD mystream * field value" "$P" XADD mystream '*' field value
done
for P in 1 64; do
	run "XADD chain * event <${#envelope}-byte envelope>" "$P" XADD chain '*' event "$envelope"
done
