"""Function size and complexity, measured with radon: what tests/test_code_size.py holds to limits."""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("bot", "handlers", "storage", "schedules")
MAX_LINES = 50
MAX_COMPLEXITY = 15


def measure(root: Path = ROOT) -> dict[str, tuple[int, int]]:
    """ "path function" -> (cyclomatic complexity, lines) for every function and method."""
    out = {}
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            if "migrations" in path.parts:  # generated, never hand-edited
                continue
            for block in cc_visit(path.read_text()):
                for f in [block, *getattr(block, "methods", [])]:
                    if not hasattr(f, "is_method"):  # a class: its methods are counted one by one
                        continue
                    out[f"{path.relative_to(root)} {f.fullname}"] = (f.complexity, f.endline - f.lineno + 1)
    return out


def over(sizes: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return {k: v for k, v in sizes.items() if v[0] > MAX_COMPLEXITY or v[1] > MAX_LINES}


if __name__ == "__main__":  # python -m tests.code_size: what is over the limits, and by how much
    for key, (cc, n) in sorted(over(measure()).items()):
        print(key, cc, n)
