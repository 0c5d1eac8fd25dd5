"""docs/reliability.md lists each guarantee with the test that holds it: every test file and
test it names exists, so a renamed or deleted test cannot leave a guarantee unheld on paper."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[3]
PAGE = ROOT / "docs" / "reliability.md"
_FILE = re.compile(r"`(tests/[\w/]+\.py)((?:::\w+)?)`")
_TEST = re.compile(r"`(?:[\w/]+\.py)?::(test_\w+)`")


def test_should_name_only_test_files_and_tests_that_exist() -> None:
    text = PAGE.read_text()
    files = {match[1] for match in _FILE.finditer(text)}
    tests = {match[1] for match in _TEST.finditer(text)}
    sources = "\n".join((ROOT / path).read_text() for path in files if (ROOT / path).exists())

    assert len(files) >= 8 and len(tests) >= 5, (files, tests)
    assert [path for path in sorted(files) if not (ROOT / path).is_file()] == []
    assert [name for name in sorted(tests) if f"def {name}(" not in sources] == []
