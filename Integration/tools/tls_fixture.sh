# TLS and nginx helpers for the deployment scripts (32-35); source after lib.sh.

# make_test_ca: a throwaway CA ($T/tls/ca.pem) and a server certificate for converge.test
# and 127.0.0.1 ($T/tls/server.pem, server.key). Nothing is installed system-wide.
make_test_ca() {
  local d=$T/tls
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Converge Test CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null || return 1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=converge.test" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null || return 1
  printf 'subjectAltName=DNS:converge.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
    -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null || return 1
  CA=$d/ca.pem
}

# deploy_block START_REGEX: a block of deploy/nginx.conf (or $NGINX_SOURCE) from the line
# matching START_REGEX to its closing brace at the same indentation, so the tests run the
# proxy settings that are shipped.
deploy_block() {
  awk -v start="$1" '
    !inside && $0 ~ start { inside = 1; match($0, /^ */); indent = RLENGTH }
    inside { print }
    inside && $0 ~ /^ *}$/ { match($0, /^ */); if (RLENGTH == indent) exit }
  ' "${NGINX_SOURCE:-$ROOT/deploy/nginx.conf}"
}

# start_nginx CONF_BODY: nginx (master in the foreground, as a background job of this
# script) with the given http{} body, its pid file, logs and temp paths under $T/nginx.
start_nginx() {
  local d=$T/nginx
  mkdir -p "$d/tmp"
  local user_line=""
  [ "$(id -u)" -eq 0 ] && user_line="user root root;"
  cat >"$d/nginx.conf" <<CONF
$user_line
worker_processes 1;
error_log $d/error.log info;
pid $d/nginx.pid;
events { worker_connections 1024; }
http {
  access_log $d/access.log;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
$1
}
CONF
  nginx -t -q -c "$d/nginx.conf" -p "$d" -g 'daemon off;' 2>>"$d/error.log" || { cat "$d/error.log"; return 1; }
  nginx -c "$d/nginx.conf" -p "$d" -g 'daemon off;' 2>>"$d/error.log" &
  NGINX_PID=$!
  started $NGINX_PID
}

# start_tls_nginx: make_test_ca, then nginx on a free loopback port ($NP) with TLS for
# converge.test / 127.0.0.1 in front of $SERVER, using deploy/nginx.conf's map and
# location blocks. Waits until it answers.
start_tls_nginx() {
  make_test_ca || { echo "openssl could not make a test CA"; return 1; }
  NP=$(free_port)
  start_nginx "$(deploy_block '^map ')
  upstream converge { server $SERVER; }
  server {
    listen 127.0.0.1:$NP ssl;
    server_name converge.test;
    ssl_certificate $T/tls/server.pem;
    ssl_certificate_key $T/tls/server.key;
$(deploy_block '^    location / [{]$')
  }" || return 1
  wait_until 10 curl -fsS -o /dev/null --cacert "$CA" "https://127.0.0.1:$NP/metrics" || { cat "$T/nginx/error.log"; return 1; }
}
