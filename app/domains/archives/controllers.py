"""HTTP for the archives domain: translate requests to service calls, nothing more."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core import jobs
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.approvals.schemas import RequestOut
from app.domains.archives import services, tasks
from app.domains.archives.models import ArchivePage, ArchiveVolume, PageStatus, RetentionPeriod, VolumeStatus
from app.domains.archives.schemas import (
    ArchivePolicy,
    ArchiveSettings,
    ClassificationChangeIn,
    ContentsIn,
    CorrectionIn,
    LegalHoldIn,
    Manifest,
    OrderIn,
    PageDownloadOut,
    PageIdsIn,
    PageOut,
    PagesIn,
    PagesOut,
    PageUploadOut,
    PageUploadsOut,
    ReasonIn,
    RemarksIn,
    ReviewIn,
    VolumeCreate,
    VolumeOut,
    VolumeSummary,
    VolumeUpdate,
)
from app.storage import ObjectStore
from app.worker import enqueue_after_commit

BASE = "/api/v1/archives"
VOLUMES = f"{BASE}/volumes"
PAGES = f"{BASE}/pages"
# Routes that reach object storage may answer 503 (with Retry-After) while it is down.
UNAVAILABLE = 503


async def provide_store(request: Request[Any, Any, Any]) -> ObjectStore:
    store: ObjectStore = request.app.state.store  # set at start-up (app/asgi.py)
    return store


DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz),
                "store": Provide(provide_store)}


async def _volume(session: AsyncSession, volume: ArchiveVolume) -> Response[VolumeOut]:
    return Response(await services.volume_out(session, volume), headers={"ETag": etag(volume.version)})


async def _for_update(request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      volume_id: uuid.UUID) -> tuple[ArchiveVolume, str, ArchivePolicy]:
    """The volume, locked for update, once the request's If-Match holds."""
    volume, path, policy = await services.get_volume(session, authz, volume_id, lock=True)
    check_if_match(request, volume.version)
    return volume, path, policy


async def _page(session: AsyncSession, page: ArchivePage) -> Response[PageOut]:
    [out] = await services.pages_out(session, page.volume_id, [page])
    return Response(out, headers={"ETag": etag(page.version)})


def _clear_storage_later(request: Request[Any, Any, Any], session: AsyncSession) -> None:
    # The keys are on the removal list already (same transaction): this only clears them sooner.
    enqueue_after_commit(session, tasks.remove_objects, tenant=request.user.tenant)


class ArchiveSettingsController(Controller):
    path = BASE
    tags = ["Archives"]
    dependencies = DEPENDENCIES

    @get("/settings", operation_id="getArchiveSettings",
         summary="The group's archive policy: numbering, classification levels, retention mode",
         description="Readable by anyone holding `archives.read` somewhere. `clearancePermissions` names the "
                     "permission that clears for each level (it also clears for every lower one).",
         **requires("archives:read"))
    async def get_settings(self, session: AsyncSession, authz: Authorizer) -> Response[ArchiveSettings]:
        authz.require_anywhere(services.READ)
        policy, version = await services.get_policy(session)
        return Response(services.settings_out(policy, version), headers={"ETag": etag(version)})

    @put("/settings", operation_id="putArchiveSettings", summary="Change the group's archive policy",
         description="Needs `archives.configure` at the group node; If-Match `\"0\"` while the defaults apply. "
                     "A level used by volumes cannot be dropped (409).",
         **requires("archives:admin", errors=[409, 412, 428]))
    async def put_settings(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: ArchivePolicy) -> Response[ArchiveSettings]:
        _, version = await services.get_policy(session, lock=True)
        check_if_match(request, version)
        version = await services.put_policy(session, authz, data)
        return Response(services.settings_out(data, version), headers={"ETag": etag(version)})


class VolumeController(Controller):
    path = VOLUMES
    tags = ["Archives"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listArchiveVolumes", summary="Find archive volumes one may read",
         description="Only volumes of the caller's subtree, of a level they are cleared for and whose circulation "
                     "scope includes them. `q` searches titles, archive numbers and the contents lists' titles and "
                     "document numbers.",
         dependencies={"page": page_params(*services.SORT_VOLUMES)}, **requires("archives:read"))
    async def list_volumes(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
        unit_id: uuid.UUID | None = Parameter(query="unitId", default=None),
        status: VolumeStatus | None = Parameter(query="status", default=None),
        classification: str | None = Parameter(query="classification", default=None,
                                               pattern=r"^[a-z][a-z0-9_]{0,39}$"),
        retention: RetentionPeriod | None = Parameter(query="retention", default=None),
        year: int | None = Parameter(query="year", default=None, ge=1900, le=2200),
        legal_hold: bool | None = Parameter(query="legalHold", default=None),
        q: str | None = Parameter(query="q", default=None, min_length=1, max_length=100),
    ) -> Page[VolumeSummary]:
        return await services.list_volumes(session, authz, page, customer_id=customer_id, unit_id=unit_id,
                                           status=status, classification=classification, retention=retention,
                                           year=year, legal_hold=legal_hold, q=q)

    @post("/", operation_id="createArchiveVolume", summary="Start building a customer's archive volume",
          description="A draft at the customer's node. Needs `archives.write` there and clearance for the "
                      "classification (the policy's default when absent). 404 naming the field for a customer, "
                      "unit, role or account that is not there; 409 for a level the group does not have, or a "
                      "circulation scope that leaves the caller out.",
          **requires("archives:write", errors=[404, 409]))
    async def create_volume(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            data: VolumeCreate) -> Response[VolumeOut]:
        return await created(request, session, lambda: services.create_volume(session, authz, data),
                             lambda volume: services.volume_out(session, volume),
                             lambda volume: f"{VOLUMES}/{volume.id}")

    @get("/{volume_id:uuid}", operation_id="getArchiveVolume",
         summary="A volume: cover, contents list, remarks sheet, counts, lock state",
         description="403 without clearance for its level or outside its circulation scope.",
         **requires("archives:read", errors=[404]))
    async def get_volume(self, session: AsyncSession, authz: Authorizer,
                         volume_id: uuid.UUID) -> Response[VolumeOut]:
        volume, _, _ = await services.get_volume(session, authz, volume_id)
        return await _volume(session, volume)

    @patch("/{volume_id:uuid}", operation_id="updateArchiveVolume",
           summary="Change a volume's cover or circulation scope",
           description="Before filing: the cover (the fields of the archive number only until it is given); once "
                       "filed: the circulation scope only. The classification changes through approval.",
           **requires("archives:write", errors=[404, 409, 412, 428]))
    async def update_volume(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            volume_id: uuid.UUID, data: VolumeUpdate) -> Response[VolumeOut]:
        volume, path, _ = await _for_update(request, session, authz, volume_id)
        return await _volume(session, await services.update_volume(session, authz, volume, path, data))

    @delete("/{volume_id:uuid}", operation_id="deleteArchiveVolume", summary="Delete a volume",
            description="An unfiled volume, with `archives.write`. A filed one only once its retention has ended "
                        "and without legal hold, with `archives.dispose` (409 before). The audit record keeps the "
                        "cover, contents list and manifest; the objects are cleared from storage after the commit "
                        "(storage need not answer now).",
            **requires("archives:write", errors=[404, 409, 412, 428]))
    async def delete_volume(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            volume_id: uuid.UUID) -> None:
        volume, path, _ = await _for_update(request, session, authz, volume_id)
        await services.delete_volume(session, authz, volume, path)
        _clear_storage_later(request, session)

    @put("/{volume_id:uuid}/contents", operation_id="putArchiveContents",
         summary="Replace the contents list (卷内目录)",
         description="Items in order; the n-th gets sequence number n. How they cover the pages is checked at "
                     "assembly. Drafts only.",
         **requires("archives:write", errors=[404, 409, 412, 428]))
    async def put_contents(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           volume_id: uuid.UUID, data: ContentsIn) -> Response[VolumeOut]:
        volume, path, _ = await _for_update(request, session, authz, volume_id)
        return await _volume(session, await services.put_contents(session, authz, volume, path, data))

    @put("/{volume_id:uuid}/remarks", operation_id="putArchiveRemarks", summary="Fill in the remarks sheet (备考表)",
         description="Notes, compiler and compilation date; the reviewer signs at review. Drafts only.",
         **requires("archives:write", errors=[404, 409, 412, 428]))
    async def put_remarks(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          volume_id: uuid.UUID, data: RemarksIn) -> Response[VolumeOut]:
        volume, path, _ = await _for_update(request, session, authz, volume_id)
        return await _volume(session, await services.put_remarks(session, authz, volume, path, data))

    @post("/{volume_id:uuid}/assemble", operation_id="assembleArchiveVolume", status_code=200,
          summary="Draft → assembled: checked complete and given its archive number",
          description="409 naming each problem: uploads not completed, no page, a contents list that does not "
                      "cover pages 1..n in order, a remarks sheet without compiler or date.",
          **requires("archives:write", errors=[404, 409, 412, 428]))
    async def assemble(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       volume_id: uuid.UUID) -> Response[VolumeOut]:
        volume, path, policy = await _for_update(request, session, authz, volume_id)
        return await _volume(session, await services.assemble(session, authz, volume, path, policy))

    @post("/{volume_id:uuid}/reopen", operation_id="reopenArchiveVolume", status_code=200,
          summary="Assembled or reviewed → draft, for corrections before filing",
          description="Takes an assembled or reviewed volume back to draft so that its pages, contents or remarks"
                      " can be corrected before it is filed. Needs archives:write and If-Match; 409 from any "
                      "other state (a filed volume stays filed).",
          **requires("archives:write", errors=[404, 409, 412, 428]))
    async def reopen(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     volume_id: uuid.UUID, data: ReasonIn) -> Response[VolumeOut]:
        volume, path, _ = await _for_update(request, session, authz, volume_id)
        return await _volume(session, await services.reopen(session, authz, volume, path, data.reason))

    @post("/{volume_id:uuid}/review", operation_id="reviewArchiveVolume", status_code=200,
          summary="Assembled → reviewed, by someone other than its assembler",
          description="Needs `archives.review`; the reviewer's name and the date go on the remarks sheet.",
          **requires("archives:admin", errors=[404, 409, 412, 428]))
    async def review(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     volume_id: uuid.UUID, data: ReviewIn) -> Response[VolumeOut]:
        volume, path, _ = await _for_update(request, session, authz, volume_id)
        return await _volume(session, await services.review(session, authz, volume, path, data))

    @post("/{volume_id:uuid}/file", operation_id="fileArchiveVolume", status_code=200,
          summary="Reviewed → filed: every object locked for the retention period",
          description="Needs `archives.file`. Object-lock retention (the group's mode, GOVERNANCE or COMPLIANCE) "
                      "until 1 January after the later of the volume's year and the filing year, plus its "
                      "retention period (100 years for permanent, extendable). Recorded as filed only once every "
                      "object is locked; 503 with Retry-After while storage is down.",
          **requires("archives:admin", errors=[404, 409, 412, 428, UNAVAILABLE]))
    async def file(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                   store: ObjectStore, volume_id: uuid.UUID) -> Response[VolumeOut]:
        volume, path, policy = await _for_update(request, session, authz, volume_id)
        return await _volume(session, await services.file_volume(session, authz, store, volume, path, policy))

    @post("/{volume_id:uuid}/legal-hold", operation_id="setArchiveLegalHold", status_code=200,
          summary="Set or clear the legal hold of a filed volume, with a reason",
          description="Needs `archives.hold`. While on, no object of the volume can be deleted, whatever its "
                      "retention, and the volume cannot be disposed of.",
          **requires("archives:admin", errors=[404, 409, 412, 428, UNAVAILABLE]))
    async def legal_hold(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                         store: ObjectStore, volume_id: uuid.UUID, data: LegalHoldIn) -> Response[VolumeOut]:
        volume, path, _ = await _for_update(request, session, authz, volume_id)
        return await _volume(session, await services.set_legal_hold(session, authz, store, volume, path, data))

    @post("/{volume_id:uuid}/classification-requests", operation_id="requestArchiveClassification",
          summary="Ask for another classification level (applied on approval)",
          description="Needs `archives.classify` and clearance for the new level. Creates an approval request of "
                      "type `archive_classification` (default chain: the group's confidentiality officer); the "
                      "level changes when it is approved. 409 while another one is open.",
          **requires("archives:admin", errors=[404, 409]))
    async def request_classification(self, request: Request[Any, Any, Any], session: AsyncSession,
                                     authz: Authorizer, volume_id: uuid.UUID,
                                     data: ClassificationChangeIn) -> Response[RequestOut]:
        async def produce() -> Response[RequestOut]:
            volume, path, policy = await services.get_volume(session, authz, volume_id)
            approval = await services.request_classification(session, authz, volume, path, policy, data)
            return Response(RequestOut.of(approval), status_code=201, headers={
                "Location": f"/api/v1/approvals/requests/{approval.id}", "ETag": etag(approval.version)})

        return await idempotent(request, session, produce)

    @get("/{volume_id:uuid}/manifest", operation_id="getArchiveManifest",
         summary="The integrity manifest: every stored page revision, its version, size and SHA-256",
         description="The integrity manifest of a volume: every stored page revision with its object version, "
                     "size and SHA-256, so that a copy can be checked against the store. Needs archives:read; 404"
                     " for a volume the caller cannot see.",
         **requires("archives:read", errors=[404]))
    async def manifest(self, session: AsyncSession, authz: Authorizer, volume_id: uuid.UUID) -> Manifest:
        volume, _, _ = await services.get_volume(session, authz, volume_id)
        return await services.manifest(session, volume)

    @post("/{volume_id:uuid}/verifications", operation_id="verifyArchiveVolume", status_code=202,
          summary="Start an integrity verification of the volume (a job with progress)",
          description="Needs `archives.verify`. The job reads every recorded page revision back from storage and "
                      "reports, page by page and by the four properties of electronic records (authenticity, "
                      "integrity, usability, security), what differs from the manifest; follow `Location`.",
          **requires("archives:admin", errors=[404]))
    async def verify(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     volume_id: uuid.UUID) -> Response[jobs.JobOut]:
        async def produce() -> Response[jobs.JobOut]:
            volume, path, _ = await services.get_volume(session, authz, volume_id)
            job = await services.start_verification(session, authz, volume, path)
            enqueue_after_commit(session, tasks.verify_volume, tenant=request.user.tenant, job_id=str(job.id),
                                 volume_id=str(volume.id))
            return jobs.accepted(job)

        return await idempotent(request, session, produce)

    # ------------------------------------------------------------------------- pages

    @get("/{volume_id:uuid}/pages", operation_id="listArchivePages",
         summary="The volume's pages in order (pending uploads included, superseded revisions on request)",
         dependencies={"page": page_params(*services.SORT_PAGES)},
         description="The pages of a volume in their order, a page at a time: pending uploads included, filter by"
                     " status (superseded revisions only when asked for). Needs archives:read; 404 for a volume "
                     "the caller cannot see.",
         **requires("archives:read", errors=[404]))
    async def list_pages(self, session: AsyncSession, authz: Authorizer, page: PageParams, volume_id: uuid.UUID,
                         status: PageStatus | None = Parameter(query="status", default=None)) -> Page[PageOut]:
        volume, _, _ = await services.get_volume(session, authz, volume_id)
        return await services.list_pages(session, volume, page, status)

    @post("/{volume_id:uuid}/pages", operation_id="uploadArchivePages",
          summary="Add pages: a presigned PUT per declared file",
          description="Declare each file (size, type: PDF, TIFF, JPEG or PNG, SHA-256, optionally its name); "
                      "upload each with a plain HTTP PUT of exactly those bytes to its URL, with its headers, then "
                      "complete them. 422 naming `pages.N.fileName` when a name's extension is not its type's (a "
                      "name without one is given it); 409 for a page above the group's size limit or a volume "
                      "that is not a draft; 503 while storage is down.",
          **requires("archives:write", errors=[404, 409, UNAVAILABLE]))
    async def upload_pages(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           store: ObjectStore, volume_id: uuid.UUID, data: PagesIn) -> Response[PageUploadsOut]:
        async def produce() -> Response[PageUploadsOut]:
            volume, path, policy = await services.get_volume(session, authz, volume_id, lock=True)
            issued = await services.issue_uploads(session, authz, store, volume, path, policy, data.pages)
            outs = await services.pages_out(session, volume.id, [i.page for i in issued])
            return Response(PageUploadsOut(items=[PageUploadOut(page=out, upload=services.presigned(i.upload))
                                              for out, i in zip(outs, issued, strict=True)]), status_code=201)

        return await idempotent(request, session, produce)

    @post("/{volume_id:uuid}/pages/complete", operation_id="completeArchivePages", status_code=200,
          summary="Confirm uploads: size, SHA-256, type and format checked against storage",
          description="All or nothing: 409 naming the pages not uploaded yet, 422 naming those whose stored object "
                      "is not the declared file (size, SHA-256, type, or bytes that do not begin as the format "
                      "does); nothing is recorded then. Pages already stored are answered as they are. The "
                      "volume's ETag changes (its page numbers do). Stored pages are re-verified in the background "
                      "and the outcome recorded (see the manifest). 503 while storage is down.",
          **requires("archives:write", errors=[404, 409, UNAVAILABLE]))
    async def complete_pages(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             store: ObjectStore, volume_id: uuid.UUID, data: PageIdsIn) -> Response[PagesOut]:
        volume, path, _ = await services.get_volume(session, authz, volume_id, lock=True)
        pages = await services.complete_pages(session, authz, store, volume, path, data.page_ids)
        enqueue_after_commit(session, tasks.reverify_pages, tenant=request.user.tenant,
                             page_ids=[str(p.id) for p in pages])
        return Response(PagesOut(items=await services.pages_out(session, volume.id, pages)))

    @put("/{volume_id:uuid}/pages/order", operation_id="orderArchivePages", summary="Re-order the pages",
         description="Every stored page of the draft, each once, in the new order; page numbers follow.",
         **requires("archives:write", errors=[404, 409, 412, 428]))
    async def order_pages(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          volume_id: uuid.UUID, data: OrderIn) -> Response[VolumeOut]:
        volume, path, _ = await _for_update(request, session, authz, volume_id)
        return await _volume(session, await services.reorder(session, authz, volume, path, data.page_ids))


class PageController(Controller):
    path = PAGES
    tags = ["Archives"]
    dependencies = DEPENDENCIES

    @get("/{page_id:uuid}", operation_id="getArchivePage", summary="A page revision",
         description="One page revision: its position, file name, content type, size, SHA-256 and status. Its "
                     "bytes come from downloadArchivePage. Needs archives:read; 404 for a page the caller cannot "
                     "see.",
         **requires("archives:read", errors=[404]))
    async def get_page(self, session: AsyncSession, authz: Authorizer, page_id: uuid.UUID) -> Response[PageOut]:
        page, _, _, _ = await services.get_page(session, authz, page_id)
        return await _page(session, page)

    @delete("/{page_id:uuid}", operation_id="deleteArchivePage", summary="Remove a page of a draft volume",
            description="Also a pending upload. The volume's ETag changes (the pages after it move up). The object "
                        "is cleared from storage after the commit, and once more when its upload URL has expired.",
            **requires("archives:write", errors=[404, 409, 412, 428]))
    async def delete_page(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          page_id: uuid.UUID) -> None:
        page, volume, path, _ = await services.get_page(session, authz, page_id, lock=True)
        check_if_match(request, page.version)
        await services.delete_page(session, authz, page, volume, path)
        _clear_storage_later(request, session)

    @post("/{page_id:uuid}/download", operation_id="downloadArchivePage", status_code=200,
          summary="A short-lived download URL of the page (audited)",
          description="Needs clearance for the volume's level and the circulation scope (403). Each issuance is "
                      "recorded in the audit trail: who, which page and version, when, from which client. The URL "
                      "lives as long as the policy's `downloadUrlSeconds` and serves the page as its type, as an "
                      "attachment named with that type's extension. 503 while storage is down.",
          **requires("archives:read", errors=[404, 409, UNAVAILABLE]))
    async def download(self, session: AsyncSession, authz: Authorizer, store: ObjectStore,
                       page_id: uuid.UUID) -> PageDownloadOut:
        page, volume, _, policy = await services.get_page(session, authz, page_id)
        return await services.download(session, authz, store, page, volume, policy)

    @post("/{page_id:uuid}/corrections", operation_id="correctArchivePage",
          summary="Upload a corrected revision of a page of a filed volume",
          description="Needs `archives.correct` and a reason. A new object (the old revision stays, locked); "
                      "complete it like any upload, and it replaces the page, locked like its volume. 422 naming "
                      "`fileName` when its extension is not the type's.",
          **requires("archives:admin", errors=[404, 409, UNAVAILABLE]))
    async def correct(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      store: ObjectStore, page_id: uuid.UUID, data: CorrectionIn) -> Response[PageUploadOut]:
        async def produce() -> Response[PageUploadOut]:
            page, volume, path, policy = await services.get_page(session, authz, page_id, lock=True)
            issued = await services.issue_correction(session, authz, store, page, volume, path, policy, data)
            [out] = await services.pages_out(session, volume.id, [issued.page])
            return Response(PageUploadOut(page=out, upload=services.presigned(issued.upload)), status_code=201,
                            headers={"Location": f"{PAGES}/{issued.page.id}"})

        return await idempotent(request, session, produce)


CONTROLLERS: list[type[Controller]] = [ArchiveSettingsController, VolumeController, PageController]
