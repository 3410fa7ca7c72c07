"""What a filing draft gives the citizen outside the chat: its QR code and a printable checklist."""

from __future__ import annotations

import functools
import io

from flask import Blueprint, Flask, current_app, render_template

from actions.store import DraftView, Store, StoreUnavailable, normalise_reference, shared_store
from actions.validators import mask_personal
from knowledge.catalog import CatalogError, load_catalog
from knowledge.schema import Procedure
from knowledge.settings import KnowledgeSettings
from web.errors import ApiError

bp = Blueprint("drafts", __name__)


def store_of(app: Flask) -> Store:
    return shared_store(app.config.get("DATABASE_URL") or None)


@functools.cache
def _catalogue() -> dict[str, Procedure]:
    settings = KnowledgeSettings.from_env()
    try:
        return {r.code: r for r in load_catalog(settings.catalog_dir, settings.imported_dir)}
    except CatalogError:
        return {}


def _draft(reference: str) -> DraftView:
    try:
        draft = store_of(current_app).get_draft(normalise_reference(reference))
    except StoreUnavailable as exc:
        current_app.logger.warning("app database unavailable: %s", exc)
        raise ApiError(503, "database_unavailable", "Drafts cannot be read right now.") from None
    if draft is None:
        raise ApiError(404, "not_found", "no draft with this reference")
    return draft


@bp.get("/qr/<reference>.svg")
def qr(reference: str):  # type: ignore[no-untyped-def]
    """A QR code that opens the draft's procedure on the National Public Service Portal."""
    import segno

    draft = _draft(reference)
    if not draft.portal_url:
        raise ApiError(404, "not_online", "this procedure has no portal page")
    out = io.BytesIO()
    segno.make(draft.portal_url, error="m").save(out, kind="svg", scale=6, border=2, title=draft.procedure_code)
    return out.getvalue(), 200, {"Content-Type": "image/svg+xml", "Cache-Control": "private, max-age=3600"}


@bp.get("/print/<reference>")
def print_view(reference: str):  # type: ignore[no-untyped-def]
    """The checklist to take home or to the counter: reference, procedure, documents, QR; numbers masked."""
    draft = _draft(reference)
    record = _catalogue().get(draft.procedure_code)
    lang = draft.language if draft.language in ("vi", "en", "bn") else "vi"
    documents = [d.name.get(lang)[0] for d in record.documents] if record else []
    title = record.title.get(lang)[0] if record else draft.procedure_title
    return render_template(
        "print.html",
        draft=draft,
        lang=lang,
        title=title,
        documents=documents,
        cccd=mask_personal(draft.cccd),
        phone=mask_personal(draft.phone),
    )
