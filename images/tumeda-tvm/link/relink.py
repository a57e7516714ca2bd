"""Relink libtvm.so with each target's unity-build objects in source order.

CMake (3.25) puts a target's unity batches on the link line last batch first. A shared library's
static initialisers run in link order, and the fork has namespace-scope `Op::Get` calls
(relay/transforms/fuse_ops.cc, partial_eval.cc) that need the operators of relay/op/ registered
before them, as they are in a build without batches. This takes ninja's link command for
libtvm.so, puts every `Unity/unity_N_*.o` of a target back in ascending N within the places
those objects hold, and runs it again.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

UNITY = re.compile(r"^(?P<dir>.*/Unity/)unity_(?P<n>\d+)_(?P<lang>cxx|c)\.(?:cxx|c)\.o$")


def source_order(tokens: list[str]) -> list[str]:
    groups: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        if (m := UNITY.match(token)) is not None:
            groups.setdefault(m["dir"] + m["lang"], []).append(i)
    out = list(tokens)
    for positions in groups.values():
        ordered = sorted((tokens[i] for i in positions), key=lambda t: int(UNITY.match(t)["n"]))
        for i, token in zip(positions, ordered):
            out[i] = token
    return out


def main(build_dir: Path) -> int:
    commands = subprocess.run(["ninja", "-C", str(build_dir), "-t", "commands", "tvm"], check=True,
                              capture_output=True, text=True).stdout.strip().splitlines()
    link = next(c for c in reversed(commands) if "-o libtvm.so" in c)
    link = link.removeprefix(": && ").removesuffix(" && :")  # ninja's no-op wrapping
    tokens = shlex.split(link)
    reordered = source_order(tokens)
    moved = sum(a != b for a, b in zip(tokens, reordered))
    subprocess.run(shlex.join(reordered), shell=True, check=True, cwd=build_dir)
    print(f"relinked libtvm.so: {moved} unity objects back in source order")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
