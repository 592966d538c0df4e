"""NCMEC CyberTipline reporting: schema, models, XML, the client and the persisted report lifecycle.

The pieces, bottom up:

* ``schema/cybertipline.xsd`` - Bastion's XSD for the documents.
* :mod:`.model` - pydantic models of ``report`` and ``fileDetails``.
* :mod:`.xml` - rendering in schema order, XSD validation, hardened parsing.
* :mod:`.client` - :class:`CyberTiplineClient`, typed results and errors.
* :mod:`.tables`, :mod:`.draft`, :mod:`.lifecycle`, :mod:`.tasks` - persisted reports:
  drafted from a confirmed case, approved by a reviewer, filed by the ``ncmec.advance``
  worker with every call recorded before and after it (crash-safe, never filed twice).
  :mod:`.lifecycle` is the entry point and describes the states; :mod:`.reports` reads a
  report, :mod:`.review` holds people's actions, :mod:`.worker` files reports.
"""

from bastion.ncmec.client import (
    PRODUCTION_BASE_URL,
    TEST_BASE_URL,
    CyberTiplineClient,
    Environment,
)
from bastion.ncmec.codes import ResponseCode
from bastion.ncmec.errors import (
    FileDoesNotExistError,
    MalformedFileError,
    MalformedXmlError,
    NcmecAuthError,
    NcmecError,
    NcmecProtocolError,
    NcmecRequestError,
    NcmecServerError,
    NcmecUnavailableError,
    NcmecUncertainError,
    ReportAlreadyFinishedError,
    ReportAlreadyRetractedError,
    ReportDoesNotExistError,
    ReportStateError,
    ReportValidationError,
    UploadIntegrityError,
    ValidationIssue,
)
from bastion.ncmec.model import FileDetails, Report
from bastion.ncmec.results import (
    FileInfoResult,
    FinishResult,
    RetractResult,
    StatusResult,
    SubmitResult,
    UploadResult,
)
from bastion.ncmec.xml import render, validate_document

__all__ = [
    "PRODUCTION_BASE_URL",
    "TEST_BASE_URL",
    "CyberTiplineClient",
    "Environment",
    "FileDetails",
    "FileDoesNotExistError",
    "FileInfoResult",
    "FinishResult",
    "MalformedFileError",
    "MalformedXmlError",
    "NcmecAuthError",
    "NcmecError",
    "NcmecProtocolError",
    "NcmecRequestError",
    "NcmecServerError",
    "NcmecUnavailableError",
    "NcmecUncertainError",
    "Report",
    "ReportAlreadyFinishedError",
    "ReportAlreadyRetractedError",
    "ReportDoesNotExistError",
    "ReportStateError",
    "ReportValidationError",
    "ResponseCode",
    "RetractResult",
    "StatusResult",
    "SubmitResult",
    "UploadIntegrityError",
    "UploadResult",
    "ValidationIssue",
    "render",
    "validate_document",
]
