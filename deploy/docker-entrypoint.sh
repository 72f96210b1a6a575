#!/bin/sh
# Starts one process of the platform inside the image (deploy/Dockerfile): the service named by the
# first argument, else by SIZHONG_SERVICE: `gateway` or the name of a directory under services/.
set -eu
service="${1:-${SIZHONG_SERVICE:-}}"
case "$service" in
  '')
    echo "sizhong image: name the process to run as the first argument or in SIZHONG_SERVICE: gateway $(ls /app/services | tr '\n' ' ')" >&2
    exit 64 ;;
  gateway) entry=/app/gateway/dist/main.js ;;
  */*|.*) echo "sizhong image: not a service name: $service" >&2; exit 64 ;;
  *) entry="/app/services/$service/dist/main.js" ;;
esac
if [ ! -f "$entry" ]; then
  echo "sizhong image: no service '$service' in this image (gateway $(ls /app/services | tr '\n' ' '))" >&2
  exit 64
fi
# exec: node is the container's main process and receives SIGTERM itself (every main stops gracefully on it).
exec node --enable-source-maps "$entry"
