"""The score line of bench/mutation: mutmut's results for one module, less its known equivalents.

A timeout counts as killed (the mutant looped forever and the tests noticed); an equivalent
mutant (one that changes no behaviour a caller can see) counts neither way."""

from __future__ import annotations

import sys
from pathlib import Path


def equivalents(path: Path) -> dict[str, str]:
    """mutant name -> why it is equivalent, from lines "name  reason" (# starts a comment)."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, why = line.partition(" ")
            out[name] = why.strip()
    return out


def main(module: str, results: Path, known: Path) -> int:
    status = {}
    for line in results.read_text().splitlines():
        name, _, state = line.strip().rpartition(": ")
        if name.startswith(f"handlers.{module}."):
            status[name] = state
    same = {n: why for n, why in equivalents(known).items() if n in status and status[n] == "survived"}
    killed = sum(1 for s in status.values() if s in ("killed", "timeout"))
    counted = len(status) - len(same)
    score = 100.0 * killed / counted if counted else 0.0
    print(f"{module}: {killed}/{counted} non-equivalent mutants killed ({score:.1f} %); {len(same)} equivalent")
    for name, state in sorted(status.items()):
        if state not in ("killed", "timeout") and name not in same:
            print(f"  {state}: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
