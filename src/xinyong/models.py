"""Every capability's tables, imported in one place for migrations and schema checks."""

from xinyong.accounts.models import Account, ApiToken, WebSession
from xinyong.catalog.models import CatalogVersion
from xinyong.check.models import CheckFeedback, CheckLog
from xinyong.core.audit import AuditEvent
from xinyong.core.db import Base
from xinyong.departments.models import Department
from xinyong.evaluation.models import EvaluationChange, EvaluationResult, EvaluationRun
from xinyong.exchange.models import OutboundEvent
from xinyong.ingest.models import Batch, Rejection
from xinyong.lists.models import ListEntry, ListProposal
from xinyong.notifications.models import Notification
from xinyong.objections.models import Objection
from xinyong.publicity.models import PublicityStop
from xinyong.repair.models import RepairCase, RepairMaterial
from xinyong.sampling.models import SamplingDraw, SamplingPlan, SamplingResult
from xinyong.subjects.models import (
    Record,
    Subject,
    SubjectName,
    SubjectSearch,
    SubjectSearchQueue,
    UsccIssue,
    is_search_fts_table,
)
from xinyong.warnings.models import RiskWarning, RiskWarningRecipient
from xinyong.web.models import RateLimitWindow

metadata = Base.metadata

__all__ = [
    "Account",
    "ApiToken",
    "AuditEvent",
    "Batch",
    "CatalogVersion",
    "CheckFeedback",
    "CheckLog",
    "Department",
    "EvaluationChange",
    "EvaluationResult",
    "EvaluationRun",
    "ListEntry",
    "ListProposal",
    "Notification",
    "Objection",
    "OutboundEvent",
    "PublicityStop",
    "RateLimitWindow",
    "Record",
    "Rejection",
    "RepairCase",
    "RepairMaterial",
    "RiskWarning",
    "RiskWarningRecipient",
    "SamplingDraw",
    "SamplingPlan",
    "SamplingResult",
    "Subject",
    "SubjectName",
    "SubjectSearch",
    "SubjectSearchQueue",
    "UsccIssue",
    "WebSession",
    "include_name",
    "metadata",
]


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Schema comparisons skip SQLite's FTS5 search tables: they are virtual tables the
    migrations make and no model can declare."""
    return not (type_ == "table" and name is not None and is_search_fts_table(name))
