"""Write the seed corpora (benign bytes only: tiny synthetic pictures, sample XML and hash lists).

Run once when a format is added; the seeds are committed so every fuzz run starts from them.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

CORPUS = Path(__file__).parent / "corpus"


def pictures() -> dict[str, bytes]:
    image = Image.new("RGB", (24, 16))
    image.putdata([((x * 10) % 256, (y * 16) % 256, 128) for y in range(16) for x in range(24)])
    out = {}
    for fmt, name in [("PNG", "tiny.png"), ("JPEG", "tiny.jpg"), ("GIF", "tiny.gif"), ("BMP", "tiny.bmp"),
                      ("WEBP", "tiny.webp"), ("TIFF", "tiny.tiff")]:
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        out[name] = buffer.getvalue()
    return out


XML = {
    "reply.xml": b"<reportResponse><responseCode>0</responseCode><responseDescription>Success"
                 b"</responseDescription><reportId>4564654</reportId></reportResponse>",
    "done.xml": b"<reportDoneResponse><responseCode>0</responseCode><reportId>1</reportId>"
                b"<files><fileId>abc</fileId></files></reportDoneResponse>",
    "report.xml": b"<?xml version='1.0' encoding='UTF-8'?><report><incidentSummary><incidentType>"
                  b"Child Pornography (possession, manufacture, and distribution)</incidentType>"
                  b"<incidentDateTime>2026-01-01T00:00:00Z</incidentDateTime></incidentSummary>"
                  b"<reporter><reportingPerson><email>a@example.org</email></reportingPerson></reporter></report>",
}

HASH_LISTS = {
    "list.te": b"# a comment\npdq " + b"f" * 64 + b"\nmd5 " + b"a" * 32 + b"\nsha256 " + b"c" * 64 + b"\n",
    "list.csv": b"signal_type,value,external_id,source,classification,note\npdq," + b"0" * 63 + b"1,e1,s,A1,\"n, q\"\n",
}


def main() -> None:
    for directory, files in [("media", pictures()), ("ncmec_xml", XML), ("hash_list", HASH_LISTS)]:
        (CORPUS / directory).mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (CORPUS / directory / name).write_bytes(data)


if __name__ == "__main__":
    main()
