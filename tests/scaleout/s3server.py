"""A real S3-compatible server for the snapshot tests: moto in server mode, over HTTP on a free port.

The fixtures `s3_server` (the server, per module) and `s3` (a fresh bucket) are in conftest.py.

Nothing is mocked in the code under test: s3fs talks HTTP to this server exactly as it would to
AWS S3 or MinIO. The server runs in a thread of the test process, so subprocesses (two `bastion
serve`) reach it too.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Credentials the moto server accepts (any); never real ones.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str

    def url(self, prefix: str = "pdq") -> str:
        return f"s3://{self.bucket}/{prefix}"

    def env(self, prefix: str = "pdq") -> dict[str, str]:
        """What a Bastion process needs to publish and find snapshots here."""
        return {**CREDENTIALS, "BASTION_SNAPSHOT_URL": self.url(prefix), "BASTION_SNAPSHOT_ENDPOINT_URL": self.endpoint}

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def keys(self, prefix: str = "pdq") -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix + "/")
        return sorted(o["Key"] for o in listed.get("Contents", []))
