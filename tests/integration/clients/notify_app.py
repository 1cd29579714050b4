#!/usr/bin/python3
# An app written for systemd's watchdog in Python with python3-systemd, that
# knows nothing of hbmond: it says READY=1 with a STATUS=, pings WATCHDOG=1
# at half of WATCHDOG_USEC, PINGS times, and hangs. Its trace lines are
# hbtest_app's (CLOCK_MONOTONIC ns): start <pid> <t>, beat <t>, hang <t>.
#
#   notify_app.py TRACE PINGS
import os
import sys
import time

from systemd import daemon


def trace(line):
    with open(sys.argv[1], "a") as f:
        f.write(line + "\n")


def main():
    pings = int(sys.argv[2])
    trace(f"start {os.getpid()} {time.monotonic_ns()}")
    period = int(os.environ["WATCHDOG_USEC"]) / 2e6
    daemon.notify("READY=1\nSTATUS=python client up")
    for _ in range(pings):
        trace(f"beat {time.monotonic_ns()}")
        daemon.notify("WATCHDOG=1")
        time.sleep(period)
    trace(f"hang {time.monotonic_ns()}")
    while True:
        time.sleep(3600)


main()
