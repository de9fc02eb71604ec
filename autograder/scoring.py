"""Test results and the scores computed from them (by the trusted process only)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TestResult:
    test_id: str           # e.g. "hidden/test_rnn_step.py::test_forward_non_square"
    name: str              # a readable name for feedback
    question: str
    max_score: float
    score: float
    status: str            # "passed" or "failed"
    verdict: str = ""      # "wrong", "timeout", "crashed", "raised", "not loaded", ...
    message: str = ""      # safe to show the student
    visibility: str = "hidden"   # "public" or "hidden"
    seconds: float = 0.0
    measurement: str = ""  # what a speed target measured, e.g. "1.8x torch.nn.LSTM (limit 4x) on cpu"

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass
class QuestionScore:
    id: str
    title: str
    score: float
    max_score: float
    passed: int
    total: int
    first_failure: str = ""


@dataclass
class SubmissionResult:
    student: str
    submission_id: str
    assignment: str
    tests: list[TestResult] = field(default_factory=list)
    problem: str = ""     # a submission-level message (not loaded, bad archive, ...)
    seed: int = 0
    seconds: float = 0.0
    mode: str = ""        # how the student code was isolated: "bwrap" or "process"

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)


# Verdicts that mean the code did not run to an answer, as opposed to a wrong answer.
TROUBLE_VERDICTS = ("not loaded", "timeout", "cpu limit", "crashed", "memory limit", "output limit",
                    "bad result", "grader error", "timing mismatch")


def trouble(result: SubmissionResult) -> str:
    """Why a submission did not grade cleanly, in one line; "" if it did."""
    if result.problem:
        return result.problem
    counts: dict[str, int] = {}
    for t in result.tests:
        if t.verdict in TROUBLE_VERDICTS:
            counts[t.verdict] = counts.get(t.verdict, 0) + 1
    parts = [f"{n} test{'s' if n > 1 else ''}: {verdict}" for verdict, n in sorted(counts.items())]
    return "; ".join(parts)


def question_scores(tests: list[TestResult], questions) -> list[QuestionScore]:
    """Scores per question, in the assignment's order; ``questions`` has ``id`` and ``title``."""
    out = []
    for q in questions:
        mine = [t for t in tests if t.question == q.id]
        failures = [t for t in mine if not t.passed]
        out.append(QuestionScore(
            id=q.id, title=q.title,
            score=sum(t.score for t in mine), max_score=sum(t.max_score for t in mine),
            passed=len(mine) - len(failures), total=len(mine),
            first_failure=f"{failures[0].name}: {failures[0].message}" if failures else "",
        ))
    return out


def format_points(x: float) -> str:
    return f"{x:g}"
