"""The PDF of a verification certificate (检定证书) or notice of failure (检定结果通知书) on A4: its
particulars and points (one page up to about a dozen points), with a QR code that leads to the
public confirmation page."""

from __future__ import annotations

import functools
import io
import logging
import os
from datetime import date
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCode
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

log = logging.getLogger(__name__)

CJK_FONT_ENV = "LABS_CJK_FONT"
# TrueType (glyf) CJK fonts that Debian packages install. Noto Sans CJK (fonts-noto-cjk) is left
# out: its outlines are CFF, which reportlab cannot embed; LABS_CJK_FONT may name any TrueType
# font or collection (.ttc: the first face is used).
CJK_FONT_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
)
# Adobe's Simplified Chinese CID font: needs no file but is not embedded, so a viewer draws it with
# whatever Chinese font it has. Only for a machine with none of the fonts above.
FALLBACK_CID_FONT = "STSong-Light"

TITLES = {
    "certificate": ("检定证书", "Verification Certificate"),
    "failure_notice": ("检定结果通知书", "Notice of Verification Result"),
}
VERDICTS = {"pass": "合格", "fail": "不合格"}
FAIL_RED = colors.HexColor("#b00020")
GRID_GREY = colors.HexColor("#555555")
LABEL_FILL = colors.HexColor("#f0f0f0")

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 16 * mm
BODY_WIDTH = PAGE_WIDTH - 2 * MARGIN
QR_SIZE = 30 * mm
QR_COLUMN = 70 * mm
FOOTER_HEIGHT = 10 * mm
LABEL_WIDTH = 30 * mm
MIN_URL_FONT_SIZE = 4.5


def render_pdf(certificate: dict, public_url: str) -> bytes:
    """The certificate (or notice of failure) as an A4 PDF whose QR code encodes `public_url`.

    The same certificate gives the same bytes: the document's dates are its issue date.
    """
    kind = certificate["kind"]
    if kind not in TITLES:
        raise ValueError(f"unknown certificate kind {kind!r}")
    font = cjk_font_name()
    styles = _styles(font)
    title, title_en = TITLES[kind]
    issued_on: date = certificate["issued_on"]

    out = io.BytesIO()
    body = Frame(
        MARGIN,
        MARGIN + FOOTER_HEIGHT,
        BODY_WIDTH,
        PAGE_HEIGHT - 2 * MARGIN - FOOTER_HEIGHT,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc = BaseDocTemplate(
        out,
        pagesize=A4,
        pageTemplates=[PageTemplate("page", frames=[body])],
        title=f"{title} {certificate['number']}",
        author=certificate["bureau"],
        subject=title_en,
        creator="labs",
        invariant=1,
        initialFontName=font,
    )
    story = [
        _header(certificate, public_url, styles),
        Spacer(0, 4 * mm),
        _particulars(certificate, styles),
        Spacer(0, 4 * mm),
        # Not keepWithNext: that would push a long table whole onto the next page; a heading with
        # room for the table's first rows under it, or a new page.
        CondPageBreak(30 * mm),
        Paragraph("检定数据 / Results", styles["results_heading"]),
        _points(certificate["points"], styles),
    ]
    if certificate["notes"]:
        heading = "不合格项 / Reasons" if kind == "failure_notice" else "说明 / Notes"
        story += [Spacer(0, 3 * mm), Paragraph(heading, styles["heading"])]
        story += [Paragraph(f"{i}. {escape(n)}", styles["note"]) for i, n in enumerate(certificate["notes"], 1)]
    story.append(KeepTogether([Spacer(0, 5 * mm), _signatures(certificate, styles)]))

    doc.build(story, canvasmaker=_canvas_maker(issued_on, font, certificate["number"], kind))
    return out.getvalue()


def cjk_font_name() -> str:
    """The name of a registered font for Chinese text: an embedded TrueType font when one is
    installed, else the fallback CID font."""
    env_path = os.environ.get(CJK_FONT_ENV, "").strip()
    candidates = ((env_path,) if env_path else ()) + CJK_FONT_PATHS
    for path in candidates:
        if os.path.isfile(path):
            name = _register_truetype(path)
            if name:
                return name
        elif path == env_path:
            log.warning("%s=%s: no such file", CJK_FONT_ENV, path)
    return _register_fallback()


@functools.cache
def _register_truetype(path: str) -> str | None:
    # Parsing a CJK font takes a while and the registry is process-wide: once per path.
    name = "CJK-" + os.path.basename(path).rsplit(".", 1)[0]
    try:
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
    except TTFError as e:  # e.g. CFF outlines, or not a font at all
        log.warning("cannot embed the font %s: %s", path, e)
        return None
    return name


@functools.cache
def _register_fallback() -> str:
    log.warning("no TrueType CJK font found (Debian: fonts-wqy-microhei); using %s, not embedded", FALLBACK_CID_FONT)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID_FONT))
    return FALLBACK_CID_FONT


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "bureau": ParagraphStyle("bureau", base, fontSize=13, leading=17),
        "title": ParagraphStyle("title", base, fontSize=24, leading=30, spaceBefore=4),
        "title_en": ParagraphStyle("title_en", base, fontSize=10, leading=13, textColor=GRID_GREY),
        "number": ParagraphStyle("number", base, fontSize=10.5, leading=14, spaceBefore=6),
        "qr_caption": ParagraphStyle("qr_caption", base, fontSize=8, leading=10, alignment=TA_CENTER),
        "qr_url": ParagraphStyle("qr_url", base, fontSize=6.5, leading=8, alignment=TA_CENTER),
        "heading": ParagraphStyle("heading", base, fontSize=10.5, leading=14, spaceAfter=2, keepWithNext=1),
        "results_heading": ParagraphStyle("results_heading", base, fontSize=10.5, leading=14, spaceAfter=2),
        "label": ParagraphStyle("label", base, fontSize=8.5, leading=11),
        "cell": ParagraphStyle("cell", base, fontSize=9, leading=11.5),
        "cell_center": ParagraphStyle("cell_center", base, fontSize=9, leading=11.5, alignment=TA_CENTER),
        "fail_center": ParagraphStyle(
            "fail_center", base, fontSize=9, leading=11.5, alignment=TA_CENTER, textColor=FAIL_RED
        ),
        "note": ParagraphStyle("note", base, fontSize=8.5, leading=11.5, leftIndent=8, alignment=TA_LEFT),
        "sign": ParagraphStyle("sign", base, fontSize=9.5, leading=13),
        "sign_right": ParagraphStyle("sign_right", base, fontSize=9.5, leading=13, alignment=TA_RIGHT),
    }


def _header(c: dict, public_url: str, s: dict) -> Table:
    title, title_en = TITLES[c["kind"]]
    left = [
        Paragraph(escape(c["bureau"]), s["bureau"]),
        Paragraph(title, s["title"]),
        Paragraph(title_en, s["title_en"]),
        Paragraph(f"{'证书编号' if c['kind'] == 'certificate' else '通知书编号'} No.: {escape(c['number'])}", s["number"]),
    ]
    qr = QrCode(public_url, width=QR_SIZE, height=QR_SIZE, qrLevel="M", hAlign="CENTER")
    right = [
        qr,
        Paragraph("扫码核验 / Scan to verify", s["qr_caption"]),
        Paragraph(escape(public_url), _url_style(public_url, s["qr_url"])),
    ]
    table = Table([[left, right]], colWidths=[BODY_WIDTH - QR_COLUMN, QR_COLUMN])
    table.setStyle(
        TableStyle(
            [
                _cell_font(s),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("RIGHTPADDING", (-1, 0), (-1, 0), 0),
                ("LINEBELOW", (0, 0), (-1, 0), 1.2, colors.black),
                ("BOTTOMPADDING", (0, 0), (-1, 0), 6),
            ]
        )
    )
    return table


def _url_style(url: str, style: ParagraphStyle) -> ParagraphStyle:
    """The URL's style, smaller for a long URL so that it stays on one line (to be read and typed
    as one), down to a size still legible in print; past that it wraps."""
    one_line = (QR_COLUMN - 8) / pdfmetrics.stringWidth(url, style.fontName, 1)  # less the cell's padding
    size = max(MIN_URL_FONT_SIZE, min(style.fontSize, one_line))
    return ParagraphStyle("qr_url_fitted", style, fontSize=size, leading=size * 1.25)


def _particulars(c: dict, s: dict) -> Table:
    inst, owner, proc, std = c["instrument"], c["owner"], c["procedure"], c["standard"]
    failure = c["kind"] == "failure_notice"
    verdict = VERDICTS[c["verdict"]]
    rows = [
        ("计量器具名称", inst["kind_name"], "型号规格", inst["model"]),
        ("出厂编号", inst["serial_number"], "制造单位", inst["manufacturer"]),
        ("使用单位", owner["name"], "统一社会信用代码", owner["credit_code"]),
        ("安装地点", inst["location"], None, None),
        ("检定依据", f"{proc['code']}《{proc['title']}》（第 {proc['version']} 版）", None, None),
        (
            "计量标准",
            f"{std['rig_code']}，标准证书 {std['certificate_no']}，有效期至 {_cn_date(std['valid_until'])}",
            None,
            None,
        ),
        ("检定条件", c["conditions"], None, None),
        ("检定员", c["technician"], "检定日期", _cn_date(c["issued_on"])),
        (
            "检定结论",
            verdict,
            "有效期至" if not failure else "封印编号",
            _cn_date(c["valid_until"]) if not failure else (c["seal_number"] or "—"),
        ),
    ]
    if not failure:
        rows.append(("封印编号", c["seal_number"] or "—", None, None))

    label_w, value_w = LABEL_WIDTH, (BODY_WIDTH - 2 * LABEL_WIDTH) / 2
    data, spans = [], []
    for r, (l1, v1, l2, v2) in enumerate(rows):
        cells = [Paragraph(l1, s["label"]), _value(v1, s, l1 == "检定结论")]
        if l2 is None:
            cells += ["", ""]
            spans.append(("SPAN", (1, r), (3, r)))
        else:
            cells += [Paragraph(l2, s["label"]), _value(v2, s)]
        data.append(cells)
    table = Table(data, colWidths=[label_w, value_w, label_w, value_w])
    table.setStyle(
        TableStyle(
            [
                _cell_font(s),
                ("GRID", (0, 0), (-1, -1), 0.5, GRID_GREY),
                ("BACKGROUND", (0, 0), (0, -1), LABEL_FILL),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                *spans,
            ]
            + [("BACKGROUND", (2, r), (2, r), LABEL_FILL) for r, row in enumerate(rows) if row[2] is not None]
        )
    )
    return table


def _value(text: str, s: dict, is_verdict: bool = False) -> Paragraph:
    if is_verdict and text == VERDICTS["fail"]:
        return Paragraph(f'<font color="{FAIL_RED.hexval()}">{escape(text)}</font>', s["cell"])
    return Paragraph(escape(text), s["cell"])


def _points(points: list[dict], s: dict) -> Table:
    header = ["检定点", "示值误差（各次）", "检定结果", "最大允许误差", "结论"]
    data = [[Paragraph(h, s["cell_center"]) for h in header]]
    for p in points:
        data.append(
            [
                Paragraph(escape(p["label"]), s["cell"]),
                Paragraph(escape(p["errors"]), s["cell_center"]),
                Paragraph(escape(p["result"]), s["cell_center"]),
                Paragraph(escape(p["mpe"]), s["cell_center"]),
                Paragraph("合格", s["cell_center"]) if p["passed"] else Paragraph("不合格", s["fail_center"]),
            ]
        )
    widths = [44 * mm, 46 * mm, 24 * mm, 34 * mm]
    widths.append(BODY_WIDTH - sum(widths))
    table = Table(data, colWidths=widths, repeatRows=1)  # the header again on a second page
    table.setStyle(
        TableStyle(
            [
                _cell_font(s),
                ("GRID", (0, 0), (-1, -1), 0.5, GRID_GREY),
                ("BACKGROUND", (0, 0), (-1, 0), LABEL_FILL),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _signatures(c: dict, s: dict) -> Table:
    table = Table(
        [
            [
                Paragraph(f"检定员：{escape(c['technician'])}", s["sign"]),
                Paragraph("核验员：", s["sign"]),
                Paragraph("批准人：", s["sign"]),
            ],
            [Paragraph(f"{escape(c['bureau'])}（检定专用章）", s["sign_right"]), "", ""],
            [Paragraph(_cn_date(c["issued_on"]), s["sign_right"]), "", ""],
        ],
        colWidths=[BODY_WIDTH / 3] * 3,
    )
    table.setStyle(
        TableStyle(
            [
                _cell_font(s),
                ("SPAN", (0, 1), (-1, 1)),
                ("SPAN", (0, 2), (-1, 2)),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 1), (-1, 1), 10),
            ]
        )
    )
    return table


def _cell_font(s: dict) -> tuple:
    # For a table's plain-string cells (the empty ones too): else reportlab sets Helvetica, and the
    # PDF lists a font it never shows and does not embed.
    return ("FONTNAME", (0, 0), (-1, -1), s["cell"].fontName)


def _cn_date(d: date | None) -> str:
    return "—" if d is None else f"{d.year}年{d.month:02d}月{d.day:02d}日"


def _canvas_maker(issued_on: date, font: str, number: str, kind: str):
    """A canvas class that dates the document by its issue date instead of the time of rendering
    and writes the footer of every page, whose "共 N 页" is known only at the end."""
    stamp = f"D:{issued_on:%Y%m%d}000000Z"
    valid_for = "本证书" if kind == "certificate" else "本通知书"

    class CertificateCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.setDateFormatter(lambda *_: stamp)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for page, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                self._footer(page, len(self._pages))
                super().showPage()
            super().save()

        def _footer(self, page: int, total: int) -> None:
            self.saveState()
            self.setFont(font, 7.5)
            self.setStrokeColor(GRID_GREY)
            self.setLineWidth(0.5)
            y = MARGIN + 4 * mm
            self.line(MARGIN, y + 3 * mm, PAGE_WIDTH - MARGIN, y + 3 * mm)
            self.drawString(MARGIN, y, f"{valid_for}仅对被检器具本次检定有效；未经本机构书面批准，不得部分复制。")
            self.drawRightString(PAGE_WIDTH - MARGIN, y, f"{number}  第 {page} 页 共 {total} 页")
            self.restoreState()

    return CertificateCanvas
