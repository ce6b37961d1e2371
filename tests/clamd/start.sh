#!/usr/bin/env bash
# Starts ClamAV's clamd for karen's tests, with a signature database written here: no signature
# download is possible on the test machines, so the one signature the tests need (the EICAR test
# file's, as a body signature that matches it anywhere in a file) is made from the EICAR string.
#   tests/clamd/start.sh DIR PORT   -> prints clamd's pid once it answers PING
set -euo pipefail
dir="$1"; port="$2"
mkdir -p "$dir/db"
# The EICAR test string, assembled from two halves so that this file is not itself a test file.
eicar_a='X5O!P%@AP[4\PZX54(P^)7CC)7}$'
eicar_b='EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
hex="$(printf '%s%s' "$eicar_a" "$eicar_b" | od -An -tx1 -v | tr -d ' \n')"
# .ndb: name:target type (0 = any file):offset (* = anywhere):hex body
printf 'Karen-Test-EICAR:0:*:%s\n' "$hex" > "$dir/db/karen-test.ndb"
cat > "$dir/clamd.conf" <<CONF
Foreground yes
DatabaseDirectory $dir/db
TCPSocket $port
TCPAddr 127.0.0.1
LocalSocket $dir/clamd.sock
LogFile $dir/clamd.log
StreamMaxLength 200M
MaxFileSize 200M
MaxScanSize 200M
CONF
clamd --config-file="$dir/clamd.conf" >"$dir/clamd.out" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  if [ "$(printf 'PING' | timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; cat <&3" 2>/dev/null | tr -d '\0\n' || true)" = "PONG" ]; then
    echo "$pid"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || { cat "$dir/clamd.out" "$dir/clamd.log" >&2 2>/dev/null; exit 1; }
  sleep 0.5
done
echo "clamd did not answer PING on 127.0.0.1:$port" >&2
kill "$pid" 2>/dev/null || true
exit 1
