#!/usr/bin/python3
"""naughty_worker.py -- an app with arrhythmia, for demonstrating hbmond.

The Python twin of naughty_worker (and a descendant of the original wrapper's
random_app.py): it works for a random spell, sends a heartbeat, and now and
then crashes (exit 255), hangs without beating, or exits cleanly.

Heartbeat protocol: connect a ZeroMQ PUSH socket to $HBMON_ENDPOINT (set by
hbmond) and send a message at least every $HBMON_INTERVAL seconds. Every
message is a heartbeat; it may carry sd_notify(3)-style lines such as
READY=1 or STATUS=text. Sends never block: a heartbeat that cannot be queued
is dropped. Without HBMON_ENDPOINT the worker runs without beating.
"""

import os
import random
import sys
import time

PROG = "naughty_worker.py"

USAGE = """\
Usage: {prog} [OPTION...]
Work for random spells, send a heartbeat after each, and misbehave at random.

  --min-work S      shortest spell of work in seconds (default 0.1)
  --max-work S      longest spell of work in seconds (default 2.5)
  --crash-rate P    chance per spell to crash with exit status 255 (default 0.05)
  --hang-rate P     chance per spell to hang forever without beating (default 0.05)
  --exit-rate P     chance per spell to exit cleanly with status 0 (default 0.02)
  --seed N          seed the random generator (default: random)
  --help            show this help and exit

Heartbeats go to $HBMON_ENDPOINT (set by hbmond); without it the worker runs
without beating.
""".format(prog=PROG)

SECONDS = "a number of seconds >= 0"
PROBABILITY = "a probability between 0 and 1"

# flag -> (option name, upper bound, description of the value)
FLAGS = {
    "--min-work": ("min_work", 1e9, SECONDS),
    "--max-work": ("max_work", 1e9, SECONDS),
    "--crash-rate": ("crash_rate", 1.0, PROBABILITY),
    "--hang-rate": ("hang_rate", 1.0, PROBABILITY),
    "--exit-rate": ("exit_rate", 1.0, PROBABILITY),
    "--seed": ("seed", None, "a non-negative integer"),
}


def usage_error(msg):
    sys.stderr.write("{0}: {1}\nTry '{0} --help'.\n".format(PROG, msg))
    sys.exit(2)


def parse_value(flag, text, hi, what):
    if hi is None:  # --seed
        if not (text.isascii() and text.isdigit()):
            usage_error("{}: expected {}, got '{}'".format(flag, what, text))
        return int(text)
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= hi:  # also rejects nan
        usage_error("{}: expected {}, got '{}'".format(flag, what, text))
    return value


def parse_args(argv):
    opts = {
        "min_work": 0.1,
        "max_work": 2.5,
        "crash_rate": 0.05,
        "hang_rate": 0.05,
        "exit_rate": 0.02,
        "seed": None,
    }
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--help", "-h"):
            sys.stdout.write(USAGE)
            sys.exit(0)
        flag, value = arg, None
        if arg.startswith("--") and "=" in arg:
            flag, value = arg.split("=", 1)
        if flag not in FLAGS:
            if arg.startswith("-"):
                usage_error("unknown option '{}'".format(flag))
            usage_error("unexpected argument '{}'".format(arg))
        if value is None:
            if i + 1 >= len(argv):
                usage_error("{}: missing value".format(flag))
            i += 1
            value = argv[i]
        name, hi, what = FLAGS[flag]
        opts[name] = parse_value(flag, value, hi, what)
        i += 1
    if opts["min_work"] > opts["max_work"]:
        usage_error("--min-work ({:g}) is greater than --max-work ({:g})".format(
            opts["min_work"], opts["max_work"]))
    return opts


class Heartbeat:
    """A PUSH socket to hbmond; every send is a heartbeat and never blocks."""

    MAX_MESSAGE_BYTES = 4096  # the daemon drops peers that send more

    def __init__(self, endpoint):
        import zmq  # only needed when supervised

        self._zmq = zmq
        self.endpoint = endpoint
        self._context = zmq.Context(1)
        self._socket = self._context.socket(zmq.PUSH)
        self._socket.setsockopt(zmq.LINGER, 100)
        self._socket.setsockopt(zmq.SNDHWM, 16)
        self._socket.connect(endpoint)

    @classmethod
    def from_env(cls):
        endpoint = os.environ.get("HBMON_ENDPOINT")
        return cls(endpoint) if endpoint else None

    def _send(self, data):
        if len(data) > self.MAX_MESSAGE_BYTES:
            return False
        try:
            self._socket.send(data, self._zmq.NOBLOCK)
            return True
        except self._zmq.ZMQError:  # EAGAIN and friends: drop it
            return False

    def beat(self):
        return self._send(b"")

    def ready(self):
        return self._send(b"READY=1")

    def status(self, text):
        text = text.replace("\r", " ").replace("\n", " ")
        data = b"STATUS=" + text.encode("utf-8", "replace")
        return self._send(data[:self.MAX_MESSAGE_BYTES])

    def close(self):
        self._socket.close()
        self._context.term()


def say(line):
    # hbmond tags every line with the app's name: one line, one flush.
    print(line, flush=True)


def main():
    opts = parse_args(sys.argv[1:])
    try:
        hb = Heartbeat.from_env()
    except ImportError:
        sys.stderr.write("{}: HBMON_ENDPOINT is set but the zmq module is missing "
                         "(apt install python3-zmq)\n".format(PROG))
        return 1
    except Exception as e:  # zmq.ZMQError: a bad endpoint
        sys.stderr.write("{}: cannot connect to HBMON_ENDPOINT '{}': {}\n".format(
            PROG, os.environ.get("HBMON_ENDPOINT"), e))
        return 1

    seed = opts["seed"]
    if seed is None:
        seed = random.SystemRandom().getrandbits(32)
    rng = random.Random(seed)

    if hb:
        say("Starting (pid {}, seed {}), heartbeats to {}.".format(os.getpid(), seed, hb.endpoint))
        hb.ready()
    else:
        say("Starting (pid {}, seed {}), HBMON_ENDPOINT not set: not beating.".format(
            os.getpid(), seed))

    iteration = 0
    while True:
        iteration += 1
        spell = rng.uniform(opts["min_work"], opts["max_work"])
        say("Working (sleeping) for {:.2f} seconds.".format(spell))
        time.sleep(spell)

        # Every message is a heartbeat: the status line is this iteration's beat.
        if hb:
            hb.status("iteration {}".format(iteration))

        if rng.random() < opts["crash_rate"]:
            say("Randomly crashing ...")
            sys.exit(255)
        if rng.random() < opts["hang_rate"]:
            say("Hanging (infinite loop) ...")
            while True:
                time.sleep(3600)
        if rng.random() < opts["exit_rate"]:
            say("Enough work ...")
            if hb:
                hb.close()
            return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
