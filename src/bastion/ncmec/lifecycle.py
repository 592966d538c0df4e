"""The CyberTipline report lifecycle: draft, edit, approve, and the worker that files it.

The pieces: `reports` (reading a report, its errors and shared steps), `review`
(people's actions), `worker` (filing). This module is their one entry point.

States::

    draft -> approved -> submitted -> files_uploaded -> file_details_sent -> finished
      |         |            \\______________ retracted (retract before finish) ___/
      |         +-> error (a person must act; `resume_state` remembers where it stopped)
      +-> retracted

**Intent, then result.** Every call to NCMEC is written to ``ncmec_api_calls`` as an
intent (outcome ``pending``) and committed *before* the request leaves; its result
and the state change it causes are committed together afterwards. A worker that dies
at any point therefore leaves either no trace (nothing was sent), a pending intent
(the call may or may not have happened), or the result. The next worker reconciles a
pending intent by operation:

* ``submit``: the API has no lookup, so nobody can know whether NCMEC opened a report.
  Bastion does **not** resubmit at once. The report waits (``resubmit_after``, flagged
  for attention) until NCMEC's own expiry rule proves any such orphan gone: an
  unfinished report that nobody changed is deleted 24 h after opening, and an orphan's
  id was never learned so nobody can change or finish it. After 24 h + 1 h margin
  from the uncertain call, the worker submits again. A reviewer may choose to submit
  at once instead (``confirm_resubmit``), accepting an unfinished orphan at NCMEC
  that expires by itself. Only one report is ever *finished*.
* ``upload``, ``fileinfo``: never repeated into the same report. NCMEC has no call that
  lists a report's files, so a second upload could leave a copy without details and a
  second ``fileinfo`` could describe a file twice, while not sending could leave a file
  undescribed. The unfinished report is retracted (``system:ncmec.refile``; NCMEC discards
  it with whatever it holds) and filed afresh: one filed report, each file once, described.
  Upload timeouts grow with the file size, so a large video does not lose its reply.
* ``finish``, ``retract``: repeated. A repeated ``finish`` answered with 5102 (already
  finished) *confirms* the first one, and the filed files are taken from Bastion's own
  record (uploaded and described); likewise 5101 for ``retract``.

The same rules apply when the call returns :class:`NcmecUncertainError` (or an
unusable reply) instead of dying; ``request_sent=False`` means certainly nothing
happened and the call is simply retried later.

**Lost reports.** NCMEC deletes an unfinished report 24 h after opening or 1 h after
its last change, whichever is later. A watch timer flags a report as stalled
``reports.stall_warning_minutes`` before that moment, and wakes the worker (the watch
itself never re-creates anything). A report is re-created (new ``submit``, same
content, the lost id kept in ``lost_report_ids``) only on proof that it is gone:

* NCMEC answers 5001 (report does not exist) to an upload, fileinfo or finish for it; or
* Bastion's own record shows NCMEC's deletion moment has passed (counted from the latest
  moment NCMEC *may* have seen a change, uncertain and interrupted calls included, plus
  a margin) **and no finish was ever sent for it**. Once a finish was sent, only NCMEC's
  answer to another finish decides: 5102 means filed, 5001 means gone.

A report stopped in ``error`` is flagged but not re-created until a person resumes it.
The NCMEC environment is fixed at the first submit: a worker configured for another
environment stops with an error instead of continuing (or re-creating) the report there.

**One worker per report.** A worker leases the report row (conditional UPDATE, as the
timers do); a lease outlives any single call by far, so a pending intent seen by the
lease holder is always a dead worker's.
"""

from bastion.ncmec.reports import (
    ACTOR,
    ADVANCE_TASK,
    CLIENT_FACTORY,
    CONNECTOR_FACTORY,
    IDLE_LIFETIME,
    LEASE,
    LOSS_MARGIN,
    OPEN_LIFETIME,
    ORPHAN_GRACE,
    VAULT_SERVICE,
    WATCH_TASK,
    FourEyesRequired,
    Preview,
    ReportConflict,
    ReportMissing,
    ReportRefused,
    calls_of,
    document,
    events_of,
    expires_at,
    file_preview,
    files_of,
    get_report,
    list_reports,
    report_page,
    preview,
    requested_cases,
)
from bastion.ncmec.review import (
    FileEdit,
    ReportEdit,
    approval_problems,
    approve_report,
    draft_report,
    edit_report,
    request_send,
    retract_report,
)
from bastion.ncmec.tables import APPROVED, DRAFT, ERROR, FINISHED, IN_FLIGHT, RETRACTED
from bastion.ncmec.worker import Worker, finish_problems

__all__ = [
    "ACTOR", "ADVANCE_TASK", "APPROVED", "CLIENT_FACTORY", "CONNECTOR_FACTORY", "DRAFT", "ERROR", "FINISHED",
    "IDLE_LIFETIME", "IN_FLIGHT", "LEASE", "LOSS_MARGIN", "OPEN_LIFETIME", "ORPHAN_GRACE", "RETRACTED",
    "VAULT_SERVICE", "WATCH_TASK", "FileEdit", "FourEyesRequired", "Preview", "ReportConflict", "ReportEdit",
    "ReportMissing", "ReportRefused", "Worker", "approval_problems", "approve_report", "calls_of", "document",
    "draft_report", "edit_report", "events_of", "expires_at", "file_preview", "files_of", "finish_problems",
    "get_report", "list_reports", "report_page", "preview", "request_send", "requested_cases", "retract_report",
]
