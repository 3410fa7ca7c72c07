"""Analytics over the last 30 days: conversations per day, answered vs. fallback vs. handed off,
satisfaction (thumbs and ratings), top procedures and languages, as inline SVG charts with tables."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.auth import guard
from web.console.charts import columns, rows
from web.console.common import local_zone, store
from web.drafts import _catalogue

bp = Blueprint("analytics", __name__, url_prefix="/console/analytics")
guard(bp)
DAYS = 30
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English", "bn": "বাংলা"}
OUTCOMES = {  # what the staff see -> the turn kinds it covers
    "Đã trả lời / Answered": ("answered", "filing", "status"),
    "Không hiểu / Fallback, not found": ("fallback", "not_found"),
    "Chuyển cán bộ / Handed off": ("handoff",),
    "Khác / Other": ("other",),
}


def procedure_titles() -> dict[str, str]:
    """Vietnamese titles of the catalogue's procedures (the print view's copy of the catalogue)."""
    return {code: record.title.get("vi")[0] for code, record in _catalogue().items()}


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    report = store().analytics(days=DAYS, tz=local_zone())
    titles = procedure_titles()
    outcomes = [(label, sum(report.kinds.get(k, 0) for k in kinds)) for label, kinds in OUTCOMES.items()]
    procedures = [(f"{code} {titles.get(code, '')}".strip(), n) for code, n in report.procedures]
    charts = {
        "days": columns(
            "Hội thoại mỗi ngày / Conversations per day", [(d.strftime("%d/%m"), n) for d, n in report.days]
        ),
        "outcomes": rows("Kết quả các lượt / Outcome of each turn", outcomes),
        "thumbs": rows(
            "Đánh giá câu trả lời / Thumbs",
            [("Hữu ích / Helpful", report.thumbs_up), ("Chưa tốt / Not helpful", report.thumbs_down)],
        ),
        "ratings": columns("Điểm hội thoại / Ratings", [(f"{r} / 5", n) for r, n in report.ratings.items()]),
        "procedures": rows("Thủ tục được hỏi nhiều / Top procedures", procedures),
        "languages": rows(
            "Ngôn ngữ / Languages", [(LANGUAGE_NAMES.get(lang, lang), n) for lang, n in report.languages]
        ),
    }
    return render_template("console/analytics.html", report=report, charts=charts, days=DAYS)
