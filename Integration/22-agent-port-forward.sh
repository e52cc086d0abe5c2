#!/usr/bin/env bash
# ssh -L through the agent reaches a service inside the CI job.
source "$(dirname "$0")/lib.sh"
start_server || exit 1
make_client_key carol
CLIENT_KEY=$T/carol
mkdir -p "$T/job-f1/www" && cp "$T/carol.pub" "$T/job-f1/.authorized_keys"
echo "hello from inside the job" >"$T/job-f1/www/index.html"
HTTP_PORT=$(free_port)
python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$T/job-f1/www" >/dev/null 2>&1 &
started $!
start_agent f1 --timeout 120s || { fail "the agent starts"; finish; }
LPORT=$(free_port)
job_ssh f1 -N -L "127.0.0.1:$LPORT:127.0.0.1:$HTTP_PORT" me@localhost &
started $!
wait_until 15 curl -fsS -o /dev/null "http://127.0.0.1:$LPORT/" || fail "the forwarded port answers"
out=$(curl -fsS "http://127.0.0.1:$LPORT/index.html")
expect_eq "ssh -L reaches an HTTP server in the job" "hello from inside the job" "$out"
ok=0
for i in 1 2 3 4 5; do
  [ "$(curl -fsS "http://127.0.0.1:$LPORT/index.html")" == "hello from inside the job" ] && ok=$((ok + 1))
done
expect_eq "five requests through the same forward" 5 "$ok"
closed=$(free_port)
job_ssh f1 -N -L "127.0.0.1:$LPORT:127.0.0.1:$closed" -o ExitOnForwardFailure=no me@localhost >/dev/null 2>&1 &
started $!
check "the agent is still running" kill -0 "$AGENT_PID"
finish
