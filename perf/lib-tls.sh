# HAProxy as the TLS-terminating proxy both perf/scenario-tls.sh (perf/run's tls scenario) and
# perf/tls-records/profile-keepalive.sh (PROXY=haproxy) measure, so that their figures are of the same set-up.
# Self-contained (profile-keepalive.sh does not source lib.sh). Sourced, not run.
# shellcheck shell=bash

# tls_haproxy_cfg FILE BIND SERVER: writes the config of one HAProxy thread in http mode, keep-alive to the client and
# reused connections to SERVER (host:port); BIND is the frontend's bind line after "bind" (the address, then
# "ssl crt PEM alpn http/1.1" for TLS).
tls_haproxy_cfg() {
    cat >"$1" <<CFG
global
  nbthread 1
  maxconn ${HAPROXY_MAXCONN:-4000}
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend f
  bind $2
  default_backend b
backend b
  server s1 $3
CFG
}
