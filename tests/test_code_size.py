"""No function over 50 lines or cyclomatic complexity 15 outside the generated migrations (issue
#21): a longer or more tangled one is split by meaning, into helpers named after what they decide."""

from __future__ import annotations

from tests.code_size import MAX_COMPLEXITY, MAX_LINES, measure, over


def test_no_function_over_the_limits():
    found = [f"{key}: complexity {cc}, {n} lines" for key, (cc, n) in sorted(over(measure()).items())]
    assert found == [], f"over the limits ({MAX_COMPLEXITY}, {MAX_LINES} lines): split them"


def test_the_measure_sees_a_long_and_a_tangled_function(tmp_path):
    (tmp_path / "handlers").mkdir()
    tangled = "def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(16)) + "    return 0\n"
    long = "class C:\n    def g(self):\n" + "        y = 1\n" * 50
    (tmp_path / "handlers" / "a.py").write_text(tangled + "\n\n" + long)
    (tmp_path / "handlers" / "ok.py").write_text("def h():\n    return 1\n")
    assert over(measure(tmp_path)) == {"handlers/a.py f": (17, 34), "handlers/a.py C.g": (1, 51)}
