"""The audit actions of random inspection plans (双随机一公开)."""

from __future__ import annotations

from enum import StrEnum


class SamplingEvent(StrEnum):
    PLAN_CREATED = "sampling.plan_created"  # a plan was made, with its parameters and seed
    DRAWN = "sampling.drawn"  # the draw: seed, algorithm, hashes of parameters, population, sample
    CANCELLED = "sampling.cancelled"  # withdrawn before its draw, with the reason
    RESULT_RECORDED = "sampling.result_recorded"  # one sampled subject's inspection result
    INPUTS_READ = "sampling.inputs_read"  # the published inputs (with grades) were exported
    PLAN_READ = "sampling.plan_read"  # the supervisors' view of a plan (with grades) was read
