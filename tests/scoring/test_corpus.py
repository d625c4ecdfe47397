"""The labelled corpus: what the weights are tuned against.

corpus/benign: ordinary orchestration scripts. corpus/risky: exfiltration-shaped scripts; the first
line of each names the signals it must raise (`// expect: a, b`). corpus/gray: legitimate scripts
with a risky shape (mass mail to customers, cleanup deletes); they must at least be noticed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from enclave_vm.guard.parse import parse_script
from enclave_vm.scoring import RuleBasedScorer

CORPUS = Path(__file__).parent / "corpus"
BENIGN = sorted((CORPUS / "benign").glob("*.js"))
RISKY = sorted((CORPUS / "risky").glob("*.js"))
GRAY = sorted((CORPUS / "gray").glob("*.js"))
SCORER = RuleBasedScorer()


def _score(path: Path) -> int:
    return SCORER.score(path.read_text()).score


def _expected(path: Path) -> set[str]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("// expect:"), f"{path.name} must name the signals it expects"
    return {signal.strip() for signal in first.removeprefix("// expect:").split(",")}


def test_corpus_size() -> None:
    assert len(BENIGN) >= 40
    assert len(RISKY) >= 40


@pytest.mark.parametrize("path", BENIGN + RISKY + GRAY, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_scripts_parse_cleanly(path: Path) -> None:
    assert not parse_script(path.read_text()).root.has_error


@pytest.mark.parametrize("path", BENIGN, ids=lambda p: p.name)
def test_every_benign_script_scores_below_40(path: Path) -> None:
    assert _score(path) < 40


@pytest.mark.parametrize("path", RISKY, ids=lambda p: p.name)
def test_every_risky_script_scores_at_least_40(path: Path) -> None:
    assert _score(path) >= 40


@pytest.mark.parametrize("path", RISKY, ids=lambda p: p.name)
def test_risky_scripts_raise_the_signals_they_expect(path: Path) -> None:
    signals = SCORER.score(path.read_text()).signals
    assert _expected(path) <= set(signals), signals


def test_most_benign_scripts_score_below_20() -> None:
    low = [path.name for path in BENIGN if _score(path) < 20]
    assert len(low) >= 0.8 * len(BENIGN)


def test_most_risky_scripts_score_at_least_70() -> None:
    high = [path.name for path in RISKY if _score(path) >= 70]
    assert len(high) >= 0.8 * len(RISKY)


@pytest.mark.parametrize("path", GRAY, ids=lambda p: p.name)
def test_gray_scripts_are_noticed(path: Path) -> None:
    assert _score(path) >= 40
