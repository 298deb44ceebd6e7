"""python -m bench.topframes STACKS [--only TEXT] [--top N]

The top frames of a py-spy profile in its raw (collapsed) format
(`py-spy record --format raw -o STACKS -- python -m bench ...`): each frame's
share of the samples as its own time (self) and with what it calls (total), and
the samples grouped into named buckets (nameko's worker, marshmallow, the
inbox claim, SQLite's commit, OpenTelemetry ...). `--only TEXT` keeps the stacks
that contain TEXT (e.g. the consumer's handler). The text of bench/profiles/.
"""

import argparse
import re
import sys
from collections import Counter

#: (bucket, pattern on one frame); a stack counts for the first bucket one of its frames
#: matches, looked for from the leaf up (the innermost library that does the work)
BUCKETS = [
    ("SQLite commit (sqlite3 COMMIT, WAL)", r"\bcommit \(|_do_commit|do_commit"),
    ("OpenTelemetry (spans, context, propagation)", r"opentelemetry|nameko_opentelemetry"),
    ("marshmallow (schema load/dump)", r"marshmallow/"),
    ("prometheus metrics", r"prometheus_client/"),
    ("JSON encode/decode", r"json/(encoder|decoder|__init__)"),
    ("SQLAlchemy (statements, ORM flush, session)", r"sqlalchemy/"),
    ("kombu/amqp (frames, acks, publish)", r"(kombu|amqp)/"),
    ("nameko (worker, dependency injection, entrypoint)", r"nameko/"),
    ("eventlet hub and greenthreads", r"eventlet/"),
    ("logging", r"logging/"),
    ("JWT and RSA (PyJWT, cryptography)", r"(jwt|cryptography)/"),
    ("werkzeug (request, routing, response)", r"werkzeug/"),
    ("our code (services/, bench/)", r"\((services|bench)/"),
]


def parse(path, only=None):
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        if only and only not in stack:
            continue
        yield stack.split(";"), int(count)


def _name(frame):
    # "func (path/file.py:123)" -> "func (path/file.py)": one entry per function
    return re.sub(r":\d+\)$", ")", frame)


def summarise(path, only=None, top=25):
    selfs, totals, buckets = Counter(), Counter(), Counter()
    total = 0
    compiled = [(name, re.compile(rx)) for name, rx in BUCKETS]
    for frames, count in parse(path, only):
        total += count
        names = [_name(f) for f in frames]
        selfs[names[-1]] += count
        for name in set(names):
            totals[name] += count
        for frame in reversed(frames):
            hit = next((b for b, rx in compiled if rx.search(frame)), None)
            if hit:
                buckets[hit] += count
                break
        else:
            buckets["other (our code, the interpreter)"] += count
    if not total:
        return f"no samples{' with ' + only if only else ''} in {path}"

    def pct(n):
        return f"{100 * n / total:5.1f} %"

    lines = [f"{total} samples" + (f" in stacks containing {only!r}" if only else ""), "",
             "where the time goes (each sample counted once, innermost library first):"]
    lines += [f"  {pct(n)}  {name}" for name, n in buckets.most_common()]
    lines += ["", f"top {top} frames by total (with callees):"]
    lines += [f"  {pct(n)}  {name}" for name, n in totals.most_common(top)]
    lines += ["", f"top {top} frames by self time:"]
    lines += [f"  {pct(n)}  {name}" for name, n in selfs.most_common(top)]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.topframes", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stacks")
    p.add_argument("--only", default=None)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    print(summarise(args.stacks, args.only, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
