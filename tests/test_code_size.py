"""No function over 50 lines or cyclomatic complexity 15 outside the generated migrations (issue
#21). The functions over the limits when the rule came in are in tests/code_size_baseline.txt with
their size then: they may shrink or leave the list, never grow, and nothing new may join."""

from __future__ import annotations

from tests.code_size import MAX_COMPLEXITY, MAX_LINES, measure, over, read_baseline


def test_no_new_function_over_the_limits_and_none_listed_grows():
    baseline = read_baseline()
    found = []
    for key, (cc, n) in sorted(over(measure()).items()):
        if key not in baseline:
            found.append(f"{key}: complexity {cc}, {n} lines (limits {MAX_COMPLEXITY}, {MAX_LINES}): split it")
        elif cc > baseline[key][0] or n > baseline[key][1]:
            found.append(f"{key}: grew to complexity {cc}, {n} lines (was {baseline[key]}): split it")
    assert found == []


def test_the_baseline_lists_only_functions_still_over_the_limits():
    """A function split below the limits leaves the list, so it cannot grow back unnoticed."""
    sizes = measure()
    gone = [k for k in read_baseline() if k not in over(sizes)]
    assert gone == [], "within the limits now (or renamed): remove from tests/code_size_baseline.txt"


def test_the_measure_sees_a_long_and_a_tangled_function(tmp_path):
    (tmp_path / "handlers").mkdir()
    tangled = "def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(16)) + "    return 0\n"
    long = "class C:\n    def g(self):\n" + "        y = 1\n" * 50
    (tmp_path / "handlers" / "a.py").write_text(tangled + "\n\n" + long)
    (tmp_path / "handlers" / "ok.py").write_text("def h():\n    return 1\n")
    assert over(measure(tmp_path)) == {"handlers/a.py f": (17, 34), "handlers/a.py C.g": (1, 51)}
