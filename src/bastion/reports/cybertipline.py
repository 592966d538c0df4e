"""CyberTipline figures: reports filed with NCMEC, their files, retractions, and detection to filing."""

from __future__ import annotations

from statistics import median
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.cases.models import Case
from bastion.ncmec.tables import NcmecReport, NcmecReportFile
from bastion.reports.period import Period


def cybertipline(session: Session, period: Period) -> dict[str, Any]:
    """Reports finished (filed) in the period; hours from the case opening to filing, as a median."""
    filed = session.execute(
        select(NcmecReport.id, NcmecReport.finished_at, Case.opened_at).join(Case, Case.id == NcmecReport.case_id)
        .where(NcmecReport.finished_at >= period.since, NcmecReport.finished_at < period.until)).all()
    ids = [row[0] for row in filed]
    files = session.scalar(select(func.count()).select_from(NcmecReportFile)
                           .where(NcmecReportFile.report_id.in_(ids))) if ids else 0
    retracted = session.scalar(select(func.count()).select_from(NcmecReport).where(
        NcmecReport.retracted_at >= period.since, NcmecReport.retracted_at < period.until)) or 0
    hours = [(finished - opened).total_seconds() / 3600 for _, finished, opened in filed]
    return {"reports_filed": len(ids), "files": files or 0, "retracted": retracted,
            "median_hours_detection_to_report": round(median(hours), 1) if hours else None}
