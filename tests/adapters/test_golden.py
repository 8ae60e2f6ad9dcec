"""Golden renders: ``tests/golden/<case>.json`` holds a preview request and, per platform,
the exact expected result (or the expected request error).

Set ``CREDITLINE_UPDATE_GOLDEN=1`` to rewrite the expected parts from the current code,
then review every changed line by eye before keeping it: goldens record correct
behaviour, not whatever the code printed.
"""

import json
import os
from pathlib import Path

import pytest

from adapters.errors import DraftError
from adapters.preview import render_preview

GOLDEN = Path(__file__).parent.parent / "golden"
UPDATE = os.environ.get("CREDITLINE_UPDATE_GOLDEN") == "1"
CASES = sorted(GOLDEN.glob("*.json"))


def _actual(request):
    try:
        return {"expected": render_preview(request)}
    except DraftError as exc:
        return {"expected_error": exc.to_dict()}


def test_there_are_enough_cases():
    assert len(CASES) >= 25


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden(path):
    case = json.loads(path.read_text(encoding="utf-8"))
    actual = _actual(case["request"])
    if UPDATE:
        case.pop("expected", None)
        case.pop("expected_error", None)
        case.update(actual)
        path.write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if "expected_error" in case:
        assert actual == {"expected_error": case["expected_error"]}
        return
    expected = case["expected"]
    assert set(actual["expected"]) == set(expected)
    for platform, result in expected.items():
        assert actual["expected"][platform] == result, platform
