#!/bin/bash
# An app written for systemd's watchdog as a shell script with
# systemd-notify(1), that knows nothing of hbmond: it says READY=1, pings
# WATCHDOG=1 at half of WATCHDOG_USEC, PINGS times, and hangs. Its trace
# lines are hbtest_app's, but in CLOCK_REALTIME ns (what bash can read
# without a fork): start <pid> <t>, beat <t> (before each ping), hang <t>.
#
#   notify_app.sh TRACE PINGS
set -eu
trace=$1 pings=$2
now() { local t=${EPOCHREALTIME/./}; echo "${t}000"; }
echo "start $$ $(now)" >>"$trace"
systemd-notify --ready --status="shell client up"
period=$(printf '%d.%06d' $((WATCHDOG_USEC / 2000000)) $((WATCHDOG_USEC / 2 % 1000000)))
for ((i = 0; i < pings; i++)); do
  echo "beat $(now)" >>"$trace"
  systemd-notify WATCHDOG=1
  sleep "$period"
done
echo "hang $(now)" >>"$trace"
exec sleep infinity
