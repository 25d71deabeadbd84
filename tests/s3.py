"""A real S3-compatible server for the tests: moto's, standalone, in a thread on a free port of
127.0.0.1, started once per session by the ``s3_server`` fixture (tests/conftest.py), with a fresh
bucket per test (``bucket``).  civic talks to it over HTTP through boto3, as to OSS, COS, OBS or MinIO.
"""

from __future__ import annotations

import itertools

ACCESS_KEY = "civic-test-access"
SECRET_KEY = "civic-test-secret"
_numbers = itertools.count(1)


class S3Server:
    def __init__(self):
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        import boto3
        from botocore.config import Config

        # The tests' own look into the bucket, not through civic.
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY, config=Config(s3={"addressing_style": "path"}))

    def stop(self):
        self._server.stop()


class Bucket:
    """One empty bucket on the server; ``config(prefix)`` is the app settings that select it."""

    def __init__(self, server: S3Server):
        self.server = server
        self.name = f"civic-test-{next(_numbers)}"
        self.client = server.client
        self.client.create_bucket(Bucket=self.name)

    def url(self, prefix: str = "") -> str:
        path = f"/{prefix}" if prefix else ""
        return f"s3://{self.name}{path}?endpoint={self.server.endpoint}&region=us-east-1&addressing=path"

    def config(self, prefix: str = "") -> dict:
        return {"MEDIA_URL": self.url(prefix), "MEDIA_ACCESS_KEY": ACCESS_KEY, "MEDIA_SECRET_KEY": SECRET_KEY}

    def objects(self) -> dict[str, bytes]:
        """Every object in the bucket, by name, with its bytes."""
        out = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name):
            for obj in page.get("Contents", []):
                out[obj["Key"]] = self.client.get_object(Bucket=self.name, Key=obj["Key"])["Body"].read()
        return out

    def put_raw(self, name: str, data: bytes) -> None:
        """Write an object behind civic's back (to damage one)."""
        self.client.put_object(Bucket=self.name, Key=name, Body=data)
