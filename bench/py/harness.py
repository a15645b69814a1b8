"""The Python side of bench/python.ts: a setup job, then rounds as JSON lines, each answered with its seconds."""
import json
import sys
import time


def serve(setup, run_round):
    """setup(job) -> state; run_round(state, round) does one round. Answers 'ready', then one time per round."""
    state = setup(json.loads(sys.stdin.readline()))
    answer('ready')
    for line in sys.stdin:
        round_ = json.loads(line)
        start = time.perf_counter()
        run_round(state, round_)
        answer(repr(time.perf_counter() - start))


def answer(text):
    sys.stdout.write(text + '\n')
    sys.stdout.flush()
