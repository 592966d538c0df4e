"""The scan pipeline: hash an upload, match it against the banks, record the scan (never the media)."""
