"""The shared upload lifecycle (app/storage/uploads.py), run against both stores over real
HTTP and rows in a real PostgreSQL schema: declarations refused field by field, completion
that reads the object back (size, SHA-256, stored type, the format's first bytes), downloads
served as the declared type under a safe name, expiry that removes objects and rows and is
harmless when run again, and keys that never reach another tenant's bucket.

The rows are a table of this test's own (``upload_rows``), made with the mixin in a scratch
schema: the lifecycle is tested without any domain."""

from __future__ import annotations

import enum
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import MetaData, String, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.core import clock
from app.core.db import TENANT_PLACEHOLDER
from app.core.models import str_enum
from app.core.problems import ProblemError
from app.storage import ObjectNotFound
from app.storage.uploads import (
    FORMATS,
    Declared,
    Outcome,
    UploadMixin,
    UploadUse,
    begins_as,
    delete_objects,
    expire,
    inspect,
    presign_download,
    safe_name,
    start,
)
from tests.storage.conftest import Backend

MINUTE = timedelta(minutes=1)
USE = UploadUse(name="test.upload", content_types=("image/png", "image/jpeg", "application/pdf"), max_size=10_000,
                upload_ttl=MINUTE, download_ttl=MINUTE, grace=timedelta(minutes=10),
                key_layout="things/{thing}/files/{file}")
PNG = b"\x89PNG\r\n\x1a\n"
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
# How each format begins (one real header each), and markup posing as it.
HEADS = {"application/pdf": b"%PDF-1.7\n", "image/png": PNG + b"\x00\x00\x00\rIHDR",
         "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/tiff": b"MM\x00*\x00\x00\x00\x08",
         "image/gif": b"GIF89a\x01\x00\x01\x00", "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
         "image/heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"}


class State(enum.StrEnum):
    pending = "pending"
    stored = "stored"


class Base(DeclarativeBase):
    metadata = MetaData(schema=TENANT_PLACEHOLDER)


class UploadRow(UploadMixin, Base):
    __tablename__ = "upload_rows"
    UPLOAD_PENDING, UPLOAD_STORED = State.pending, State.stored

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    status: Mapped[State] = mapped_column(str_enum(State), nullable=False)
    file_name: Mapped[str | None] = mapped_column(String(200))


def declared(data: bytes, content_type: str = "image/png", name: str | None = "x.png") -> Declared:
    return USE.declare(content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                       file_name=name)


def png(size: int = 600) -> bytes:
    return HEADS["image/png"] + os.urandom(size - len(HEADS["image/png"]))


@pytest.fixture
async def schema(db: Any, tenant: str) -> AsyncIterator[str]:
    """The tenant's scratch schema holding the rows."""
    name = f"t_{tenant}"
    async with db.engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {name}"))
        await conn.run_sync(lambda sync: Base.metadata.create_all(
            sync.execution_options(schema_translate_map={TENANT_PLACEHOLDER: name})))
    try:
        yield name
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA {name} CASCADE"))


async def begin(b: Backend, db: Any, schema: str, tenant: str, data: bytes, *, content_type: str = "image/png",
                name: str | None = "x.png", put: bytes | None = None) -> UploadRow:
    """A pending row and its presigned PUT, sent with ``put`` (the declared bytes when None)."""
    row = UploadRow(id=uuid.uuid4(), file_name=None)
    found = declared(data, content_type, name)
    row.file_name = found.file_name
    signed = await start(b.store, tenant, USE, row, USE.key(thing=uuid.uuid4(), file=row.id), found)
    assert row.upload_pending and row.upload_expires_at == signed.expires_at and row.object_version is None
    async with db.tenant_transaction(schema) as session:
        session.add(row)
    response = await b.http.put(signed.url, content=data if put is None else put, headers=signed.headers)
    assert response.status_code == 200, response.text
    return row


# ---------------------------------------------------------------------------- declarations


def test_every_format_is_known_by_its_first_bytes_and_markup_passes_for_none() -> None:
    assert {"image/png", "image/jpeg", "application/pdf", "image/tiff", "image/webp", "image/gif"} <= set(FORMATS)
    for content_type, head in HEADS.items():
        assert begins_as(content_type, head + os.urandom(32)), content_type
        assert [t for t in FORMATS if t != content_type and begins_as(t, head)] == []
        for markup in (HTML, b"\xef\xbb\xbf<html>", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"  <?xml ?>",
                       b"GIF8<html>", b"RIFF\x00\x00\x00\x00HTML", b""):
            assert not begins_as(content_type, markup), (content_type, markup)
    assert not begins_as("text/html", HTML)  # a type without a format is never "begun as"


def test_a_declaration_is_refused_field_by_field() -> None:
    good = hashlib.sha256(b"x").hexdigest()
    with pytest.raises(ProblemError) as refused:
        USE.declare(content_type="text/html", size=0, sha256=good.upper(), file_name="x.html", name_field="filename")
    assert refused.value.status_code == 422
    assert [(e.field, e.message) for e in refused.value.errors or []] == [
        ("contentType", "one of image/png, image/jpeg, application/pdf"), ("size", "1 to 10000 bytes"),
        ("sha256", "64 lower-case hex digits")]
    _, errors = USE.problems(content_type="image/png", size=10_001, sha256=good, file_name="x.html", at="pages.3.")
    assert [(e.field, e.message) for e in errors] == [
        ("pages.3.size", "1 to 10000 bytes"),
        ("pages.3.fileName", "the extension .html is not one of image/png (png)")]
    for name in ("x.html.", "x.HTML", "x.svg", "x.jpg", "photo.png.exe", "x.html\u00a0", "x.h\u200btml"):
        _, errors = USE.problems(content_type="image/png", size=1, sha256=good, file_name=name)
        assert [e.field for e in errors] == ["fileName"], name
    _, errors = USE.problems(content_type="image/png", size=1, sha256=good, file_name=" ..\u202e ")
    assert [(e.field, e.message) for e in errors] == [("fileName", "a name with more than blanks and dots")]


@pytest.mark.parametrize(("name", "content_type", "kept"), [
    ("leak.jpg", "image/jpeg", "leak.jpg"), ("IMG_0001.JPEG", "image/jpeg", "IMG_0001.JPEG"),
    ("photo", "image/png", "photo.png"), ("scan 1.2", "application/pdf", "scan 1.2.pdf"),
    ("a/b\\c.png", "image/png", "abc.png"), ("x\u202egnp.png", "image/png", "xgnp.png"),
    ("  report. ", "application/pdf", "report.pdf"), (None, "image/png", None),
])
def test_a_name_keeps_or_gets_the_declared_types_extension(name: str | None, content_type: str,
                                                           kept: str | None) -> None:
    found = USE.declare(content_type=content_type, size=5, sha256="0" * 64, file_name=name)
    assert found == Declared(content_type=content_type, size=5, sha256="0" * 64, file_name=kept)


def test_a_served_name_always_has_the_declared_types_extension() -> None:
    assert safe_name("x.html", "image/png") == "x.png"  # a name stored before extensions were checked
    assert safe_name("leak.JPEG", "image/jpeg") == "leak.JPEG"
    assert safe_name(None, "application/pdf") == "download.pdf"
    assert safe_name("\u202e", "image/tiff", fallback="KH-0001") == "KH-0001.tif"
    assert safe_name("x" * 300, "image/png") == "x" * 196 + ".png"


def test_a_use_is_declared_once_and_its_keys_are_made_of_ids() -> None:
    thing, file = uuid.uuid4(), uuid.uuid4()
    assert USE.key(thing=thing, file=file) == f"things/{thing}/files/{file}"
    with pytest.raises(TypeError):
        USE.key(thing="../other-tenant", file=file)  # type: ignore[arg-type]
    bad: list[dict[str, Any]] = [{"content_types": ("text/html",)}, {"content_types": ()}, {"max_size": 0},
                                 {"upload_ttl": timedelta(days=8)}, {"key_layout": "things/fixed"},
                                 {"key_layout": "Things/{thing}"}, {"key_layout": "a/{x}/{x}"}]
    for change in bad:
        with pytest.raises(ValueError):
            UploadUse(**{"name": "x", "content_types": ("image/png",), "max_size": 1, "upload_ttl": MINUTE,
                         "download_ttl": MINUTE, "grace": MINUTE, "key_layout": "x/{id}", **change})


# ------------------------------------------------------------------ completion and download


async def test_an_upload_completes_only_as_the_declared_file_and_downloads_as_it(
        backend: Backend, db: Any, tenant: str, schema: str) -> None:
    await backend.store.ensure_bucket(tenant)
    data = png()
    row = UploadRow(id=uuid.uuid4(), file_name="x.png")
    signed = await start(backend.store, tenant, USE, row, USE.key(thing=uuid.uuid4(), file=row.id), declared(data))
    early = await inspect(backend.store, tenant, row)
    assert (early.outcome, early.info) == (Outcome.missing, None) and "is not in storage" in str(early.detail)
    put = await backend.http.put(signed.url, content=data, headers=signed.headers)
    assert put.status_code == 200
    found = await inspect(backend.store, tenant, row)
    assert found.outcome is Outcome.ok and found.info is not None and found.info.size == len(data)
    row.mark_stored(found.info, clock.utcnow())
    assert not row.upload_pending and row.object_version == put.headers["x-amz-version-id"]

    # A second PUT makes a newer version; the download is of the recorded one.
    again = await backend.http.put(signed.url, content=data, headers=signed.headers)
    assert again.status_code == 200 and again.headers["x-amz-version-id"] != row.object_version
    link = await presign_download(backend.store, tenant, USE, row, name="x.html")  # as an old row might hold
    got = await backend.http.get(link.url)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"].split(";")[0] == "image/png"
    assert got.headers["content-disposition"] == 'attachment; filename="x.png"'
    with pytest.raises(ValueError):
        await presign_download(backend.store, tenant, USE, UploadRow(object_key=row.object_key), name=None)


async def test_completion_reads_back_size_sha256_type_and_first_bytes(backend: Backend, tenant: str) -> None:
    await backend.store.ensure_bucket(tenant)
    store, data = backend.store, png()

    async def stored_as(body: bytes, content_type: str, row: UploadRow) -> None:
        signed = await store.presign_put(tenant, row.object_key, size=len(body), content_type=content_type,
                                         sha256=hashlib.sha256(body).hexdigest(), expires=MINUTE)
        assert (await backend.http.put(signed.url, content=body, headers=signed.headers)).status_code == 200

    def row_of(body: bytes, content_type: str = "image/png") -> UploadRow:
        return UploadRow(object_key=USE.key(thing=uuid.uuid4(), file=uuid.uuid4()), content_type=content_type,
                         size=len(body), sha256=hashlib.sha256(body).hexdigest(), status=State.pending)

    # Other bytes than declared (a server that ignores the signed checksum stores them).
    shorter = row_of(data)
    await stored_as(data[:-1], "image/png", shorter)
    assert (await inspect(store, tenant, shorter)).detail == f"{len(data) - 1} bytes stored, {len(data)} declared"
    other = row_of(data)
    twin = png()
    await stored_as(twin, "image/png", other)
    found = await inspect(store, tenant, other)
    assert found.outcome is Outcome.mismatch
    assert found.detail == f"SHA-256 {hashlib.sha256(twin).hexdigest()} stored, {other.sha256} declared"
    # The declared bytes, stored as another type.
    typed = row_of(data)
    await stored_as(data, "text/html", typed)
    found = await inspect(store, tenant, typed)
    assert (found.outcome, found.detail) == (Outcome.unusable, "stored as text/html, declared image/png")
    # HTML declared as a PNG, uploaded exactly as declared: not a PNG.
    page = row_of(HTML)
    await stored_as(HTML, "image/png", page)
    found = await inspect(store, tenant, page)
    assert (found.outcome, found.detail) == (Outcome.unusable, "the bytes do not begin as image/png does")
    assert found.info is not None and found.info.size == len(HTML)
    # The right file completes, and a named version is read as that version.
    right = row_of(data)
    await stored_as(data, "image/png", right)
    first = await inspect(store, tenant, right)
    await stored_as(data[:-1] + b"!", "image/png", UploadRow(object_key=right.object_key))
    assert first.info is not None and (await inspect(store, tenant, right)).outcome is Outcome.mismatch
    assert (await inspect(store, tenant, right, first.info.version_id)).outcome is Outcome.ok


async def test_a_completed_upload_is_not_reached_through_another_tenant(backend: Backend, tenant: str) -> None:
    """The bucket comes from the tenant, never from the row: another tenant's lifecycle finds
    nothing under the same key, and its download URL serves nothing."""
    other = f"st_{uuid.uuid4().hex[:10]}"
    for slug in (tenant, other):
        await backend.store.ensure_bucket(slug)
    data = png()
    row = UploadRow(id=uuid.uuid4())
    signed = await start(backend.store, tenant, USE, row, USE.key(thing=uuid.uuid4(), file=row.id), declared(data))
    assert backend.store.bucket_name(tenant) in signed.url and backend.store.bucket_name(other) not in signed.url
    assert (await backend.http.put(signed.url, content=data, headers=signed.headers)).status_code == 200
    found = await inspect(backend.store, tenant, row)
    assert found.outcome is Outcome.ok and found.info is not None
    row.mark_stored(found.info, clock.utcnow())

    assert (await inspect(backend.store, other, row)).outcome is Outcome.missing
    assert (await inspect(backend.store, other, row, row.object_version)).outcome is Outcome.missing
    link = await presign_download(backend.store, other, USE, row, name="x.png")
    assert backend.store.bucket_name(other) in link.url
    refused = await backend.http.get(link.url)
    # The local store answers 404; moto 403 for a version its bucket never had (S3: 404 or 403).
    assert refused.status_code in (403, 404) and data not in refused.content


# ------------------------------------------------------------------------------- expiry


async def test_expiry_removes_objects_and_rows_and_a_second_run_is_harmless(
        backend: Backend, db: Any, tenant: str, schema: str) -> None:
    await backend.store.ensure_bucket(tenant)
    uploaded = await begin(backend, db, schema, tenant, png())  # arrived, never completed
    never = UploadRow(id=uuid.uuid4())  # signed, nothing arrived
    await start(backend.store, tenant, USE, never, USE.key(thing=uuid.uuid4(), file=never.id), declared(png()))
    fresh = await begin(backend, db, schema, tenant, png())  # its URL is still in its grace
    done = await begin(backend, db, schema, tenant, png())  # completed
    found = await inspect(backend.store, tenant, done)
    assert found.info is not None
    lapsed = clock.utcnow() - USE.grace - timedelta(seconds=1)
    async with db.tenant_transaction(schema) as session:
        session.add(never)
        for row in (uploaded, never, done):
            row = await session.merge(row)
            row.upload_expires_at = lapsed
        stored = await session.get(UploadRow, done.id)
        assert stored is not None
        stored.mark_stored(found.info, clock.utcnow())
    # A replayed PUT made a second version under the key: both go.
    replay = await backend.store.presign_put(tenant, uploaded.object_key, size=uploaded.size,
                                             content_type="image/png", sha256=uploaded.sha256, expires=MINUTE)
    await backend.http.put(replay.url, content=await _bytes(backend, tenant, uploaded.object_key),
                           headers=replay.headers)

    async def run() -> list[uuid.UUID]:
        async with db.tenant_transaction(schema) as session:
            removed = await expire(session, UploadRow, USE, delete_objects(backend.store, tenant))
            return sorted(r.id for r in removed)

    assert await run() == sorted([uploaded.id, never.id])
    with pytest.raises(ObjectNotFound):
        await backend.store.stat(tenant, uploaded.object_key)
    async with db.tenant_session(schema) as session:
        left = set((await session.scalars(select(UploadRow.id))).all())
    assert left == {fresh.id, done.id}
    assert (await backend.store.stat(tenant, fresh.object_key)).size == fresh.size
    assert (await backend.store.stat(tenant, done.object_key)).version_id == found.info.version_id
    assert await run() == []  # redelivered: nothing left to do


async def test_an_expiry_whose_transaction_failed_is_finished_by_the_next_run(
        backend: Backend, db: Any, tenant: str, schema: str) -> None:
    await backend.store.ensure_bucket(tenant)
    row = await begin(backend, db, schema, tenant, png())
    async with db.tenant_transaction(schema) as session:
        (await session.merge(row)).upload_expires_at = clock.utcnow() - USE.grace - timedelta(seconds=1)

    class Failed(Exception):
        pass

    with pytest.raises(Failed):  # the objects went, the commit did not
        async with db.tenant_transaction(schema) as session:
            assert len(await expire(session, UploadRow, USE, delete_objects(backend.store, tenant))) == 1
            raise Failed
    with pytest.raises(ObjectNotFound):
        await backend.store.stat(tenant, row.object_key)
    async with db.tenant_transaction(schema) as session:
        assert [r.id for r in await expire(session, UploadRow, USE, delete_objects(backend.store, tenant))] == [row.id]
    async with db.tenant_session(schema) as session:
        assert await session.get(UploadRow, row.id) is None


async def _bytes(backend: Backend, tenant: str, key: str) -> bytes:
    return b"".join([chunk async for chunk in backend.store.read(tenant, key)])
