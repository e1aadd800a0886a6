"""Presigned PUTs sign Content-Length, Content-Type and the SHA-256 (the SDK signs only
Host). moto does not check signatures, so ours is checked against botocore's, AWS's own
implementation, for the same request and instant."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from app.storage import S3Store
from app.storage.s3 import presign_v4


async def test_the_presigned_put_signature_is_the_one_aws_computes() -> None:
    store = S3Store("https://s3.eu-central-1.example.net", access_key="AKIDEXAMPLE",
                    secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region="eu-central-1",
                    bucket_prefix="cs-")
    data = b"%PDF-1.7 the scan"
    signed = await store.presign_put("acme_group", "volumes/v1/page-0001.pdf", size=len(data),
                                     content_type="application/pdf", sha256=hashlib.sha256(data).hexdigest(),
                                     expires=timedelta(minutes=15))
    ours = parse_qs(urlsplit(signed.url).query)
    assert ours["X-Amz-SignedHeaders"] == ["content-length;content-type;host;x-amz-checksum-sha256;"
                                           "x-amz-sdk-checksum-algorithm"]
    assert signed.headers["Content-Length"] == str(len(data))
    assert signed.url.startswith("https://s3.eu-central-1.example.net/cs-acme-group/volumes/v1/page-0001.pdf?")

    base = signed.url.split("?")[0]
    request = AWSRequest(method="PUT", url=base, headers=dict(signed.headers))
    S3SigV4QueryAuth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "s3", "eu-central-1",
                     expires=900).add_auth(request)
    theirs = parse_qs(urlsplit(request.url).query)
    # Sign again at botocore's instant: the same request must give the same signature.
    at = datetime.strptime(theirs["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
    again = presign_v4(method="PUT", url=urlsplit(base), region="eu-central-1", access_key="AKIDEXAMPLE",
                       secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", headers=signed.headers, expires=900,
                       now=at)
    assert parse_qs(urlsplit(again).query)["X-Amz-Signature"] == theirs["X-Amz-Signature"]
    assert parse_qs(urlsplit(again).query)["X-Amz-SignedHeaders"] == theirs["X-Amz-SignedHeaders"]


async def test_presigned_get_is_the_sdks_with_an_attachment_disposition() -> None:
    store = S3Store("http://127.0.0.1:9000", access_key="a", secret_key="b", bucket_prefix="cs-")
    signed = await store.presign_get("acme", "a.pdf", version_id="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
                                     expires=timedelta(seconds=30), download_name='Plan "A"/1.pdf')
    query = parse_qs(urlsplit(signed.url).query)
    assert query["X-Amz-Expires"] == ["30"] and query["X-Amz-SignedHeaders"] == ["host"]
    assert query["versionId"] == ["3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"]
    assert query["response-content-disposition"] == ['attachment; filename="Plan A1.pdf"']
