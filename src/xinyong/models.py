"""Every capability's tables, imported in one place for migrations and schema checks."""

from xinyong.catalog.models import CatalogVersion
from xinyong.core.audit import AuditEvent
from xinyong.core.db import Base
from xinyong.ingest.models import Batch, Rejection
from xinyong.subjects.models import Record, Subject, SubjectName, UsccIssue

metadata = Base.metadata

__all__ = ["AuditEvent", "Batch", "CatalogVersion", "Record", "Rejection", "Subject",
           "SubjectName", "UsccIssue", "metadata"]
