"""The audit actions of the public credit evaluation."""

from __future__ import annotations

from enum import StrEnum


class EvaluationEvent(StrEnum):
    RUN = "evaluation.run"  # a batch run, with its mode, counts and grades
    LIST_READ = "evaluation.list_read"  # the subjects of a grade were listed or exported
    READ = "evaluation.read"  # one subject's result was read (not public data, SPEC §2.3)
