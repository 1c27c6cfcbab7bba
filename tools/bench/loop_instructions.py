"""Reads callgrind's per-thread files (loop_instructions.sh) and prints the
instructions per job of the thread that ran the loop.

usage: loop_instructions.py OUT_DIR VARIANT LOOP_FUNCTION POSTING_FUNCTION

The loop thread is the file naming LOOP_FUNCTION; its jobs are the calls it
made to POSTING_FUNCTION (callgrind's `calls=` lines under a `cfn=`).
"""
import glob
import re
import sys


def parse(path, post_fn):
    names, total, posts = {}, 0, 0
    pending = None  # the callee named by the last cfn= line
    with open(path, errors="replace") as lines:
        for line in lines:
            if line.startswith("summary:"):
                total = int(line.split()[1])
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
    out, variant, loop_fn, post_fn = sys.argv[1:]
    for path in sorted(glob.glob(out + "/cg-*")):
        names, total, posts = parse(path, post_fn)
        if posts and any(loop_fn in name for name in names.values()):
            print(f"{variant}: loop thread {total:,} instructions, {posts:,} jobs, {total / posts:,.0f} per job")
            return 0
    print(f"loop_instructions: no thread of {variant} ran the loop and posted jobs", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
