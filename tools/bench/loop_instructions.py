"""Reads callgrind's per-thread files (loop_instructions.sh) and prints the
instructions per job of the thread that ran the loop and, given
WORKER_FUNCTION, of the pool's worker threads together.

usage: loop_instructions.py [--misses] OUT_DIR VARIANT LOOP_FUNCTION POSTING_FUNCTION [WORKER_FUNCTION]

With --misses (a run with --cache-sim=yes) it prints data cache misses per
job instead: L1 (D1mr + D1mw) and last level (DLmr + DLmw).

The loop thread is the file naming LOOP_FUNCTION; its jobs are the calls it
made to POSTING_FUNCTION (callgrind's `calls=` lines under a `cfn=`). The
workers are the other files naming WORKER_FUNCTION.
"""
import glob
import re
import sys


def parse(path, post_fn):
    names, total, posts = {}, [0], 0
    pending = None  # the callee named by the last cfn= line
    with open(path, errors="replace") as lines:
        for line in lines:
            if line.startswith("summary:"):
                total = [int(v) for v in line.split()[1:]]
            m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
            if m:
                if m.group(2):
                    names[m.group(1)] = m.group(2).strip()
                pending = names.get(m.group(1), "") if line.startswith("cfn=") else None
                continue
            if pending is not None and line.startswith("calls="):
                if pending.startswith(post_fn):
                    posts += int(line.split()[0][len("calls="):])
                pending = None
    return names, total, posts


def main():
    args = sys.argv[1:]
    misses = args[0] == "--misses"
    args = args[1:] if misses else args
    out, variant, loop_fn, post_fn = args[:4]
    worker_fn = args[4] if len(args) > 4 else None
    loop, workers = None, []
    for path in sorted(glob.glob(out + "/cg-*")):
        names, total, posts = parse(path, post_fn)
        if posts and any(loop_fn in name for name in names.values()):
            loop = (total, posts)
        elif worker_fn and any(worker_fn in name for name in names.values()):
            workers.append(total[0])
    if loop is None:
        print(f"loop_instructions: no thread of {variant} ran the loop and posted jobs", file=sys.stderr)
        return 1
    total, posts = loop
    if misses:
        # events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
        l1, last = total[4] + total[5], total[7] + total[8]
        print(f"{variant}: loop thread, {posts:,} jobs: {l1 / posts:.1f} L1 and {last / posts:.1f} last-level data misses per job")
        return 0
    print(f"{variant}: loop thread {total[0]:,} instructions, {posts:,} jobs, {total[0] / posts:,.0f} per job")
    if worker_fn:
        if not workers:
            print(f"loop_instructions: no worker thread of {variant} names {worker_fn}", file=sys.stderr)
            return 1
        pool = sum(workers)
        print(f"{variant}: {len(workers)} workers {pool:,} instructions, {pool / posts:,.0f} per job; "
              f"loop and workers {(total[0] + pool) / posts:,.0f} per job")
    return 0


if __name__ == "__main__":
    sys.exit(main())
