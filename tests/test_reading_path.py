"""docs/reading.md stays true: each row of its reading path is recounted from the code."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reading.md"
ROW = re.compile(r"^\| (\d) \| `([^`]+)` \| (start of file|`[^`]+`) \| (end of file|`[^`]+`) \| (\d+) \|$", re.M)


def _count(path: str, start: str, end: str) -> int:
    lines = (ROOT / path).read_text().splitlines()
    first = 0 if start == "start of file" else next(i for i, line in enumerate(lines) if start.strip("`") in line)
    if end == "end of file":
        return len(lines) - first
    return next(i for i in range(first + 1, len(lines)) if end.strip("`") in lines[i]) - first


def test_reading_path_counts_are_true_and_under_1500_lines():
    doc = DOC.read_text()
    rows = ROW.findall(doc)
    assert len(rows) >= 10 and {step for step, *_ in rows} == {"1", "2", "3", "4", "5"}
    total = 0
    for _, path, start, end, stated in rows:
        counted = _count(path, start, end)
        assert counted == int(stated), f"docs/reading.md: {path} from {start} to {end} is {counted} lines, not {stated}"
        total += counted
    assert total < 1500
    assert f"The path is {total:,} lines" in doc


def test_readme_links_the_reading_path():
    assert "docs/reading.md" in (ROOT / "README.md").read_text()
