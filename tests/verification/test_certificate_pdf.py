"""The certificate PDF, read back by the tools a person would use: poppler's pdftotext, pdfinfo,
pdffonts and pdftoppm, and zbar's QR reader on the rendered page."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from labs.verification import certificate_pdf
from labs.verification.certificate_pdf import render_pdf

PUBLIC_URL = "http://127.0.0.1:5000/certificates/JD-2026-000123"
WQY_MICROHEI = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
DEBIAN_PACKAGE = {
    "pdftotext": "poppler-utils",
    "pdfinfo": "poppler-utils",
    "pdffonts": "poppler-utils",
    "pdftoppm": "poppler-utils",
    "zbarimg": "zbar-tools",
}


def run(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed: apt-get install {DEBIAN_PACKAGE[tool]} (./dev test does)")
    done = subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{tool} {' '.join(args)}: {done.stderr}"
    return done.stdout


def point(label: str, result: str = "+0.27", passed: bool = True) -> dict:
    return {"label": label, "errors": f"+0.26, +0.25, {result}", "result": result, "mpe": "±0.30", "passed": passed}


def certificate(**overrides) -> dict:
    c = {
        "number": "JD-2026-000123",
        "kind": "certificate",
        "issued_on": date(2026, 3, 15),
        "valid_until": date(2027, 3, 14),
        "verdict": "pass",
        "bureau": "某市市场监督管理局计量检定所",
        "instrument": {
            "kind_name": "燃油加油机",
            "serial_number": "SN-20240917-0042",
            "model": "<TQ-2240> 双枪",
            "manufacturer": "正星科技股份有限公司",
            "location": "高新区科技路 88 号加油站 3 号岛",
        },
        # "&" and "<" are markup to reportlab's paragraphs (the model would vanish, the note would not
        # parse); they must come out as written.
        "owner": {"name": "中石化&壳牌<某市>石油有限公司", "credit_code": "91410100MA44XYZ12K"},
        "procedure": {"code": "JJG 443-2023", "version": "2023", "title": "燃油加油机检定规程"},
        "standard": {"rig_code": "RIG-FD-01", "certificate_no": "[2025]量标证字第0123号", "valid_until": date(2028, 6, 30)},
        "technician": "张伟",
        "seal_number": "FY-2026-00881",
        "conditions": "环境温度 20.0 °C，相对湿度 55 %RH",
        "points": [point("Qmax 60 L/min", "+0.18"), point("Q1 40 L/min", "+0.27"), point("Qmin 5 L/min", "-0.12")],
        "notes": ["Q1 at the limit: +0.27 % 接近最大允许误差 ±0.30 %", "5 L/min<Q<60 L/min 各点均检"],
    }
    c.update(overrides)
    return c


def failure_notice() -> dict:
    return certificate(
        number="JD-2026-000124",
        kind="failure_notice",
        valid_until=None,
        verdict="fail",
        seal_number=None,
        points=[point("Qmax 60 L/min", "+0.18"), point("Q2 30 L/min", "+0.45", passed=False)],
        notes=["Q2 误差 +0.45 % 超出最大允许误差 ±0.30 %"],
    )


@pytest.fixture
def write(tmp_path):
    def write(pdf: bytes, name: str = "certificate.pdf") -> Path:
        path = tmp_path / name
        path.write_bytes(pdf)
        return path

    return write


@pytest.fixture
def installed_font(monkeypatch):
    """The test machine's font, as ./dev test installs it: the embedded path is the one tested."""
    if not Path(WQY_MICROHEI).is_file():
        pytest.fail(f"{WQY_MICROHEI} is missing: apt-get install fonts-wqy-microhei (./dev test does)")
    monkeypatch.delenv(certificate_pdf.CJK_FONT_ENV, raising=False)


@pytest.fixture
def no_font_file(monkeypatch, tmp_path):
    """A machine with no CJK font file at all."""
    monkeypatch.setenv(certificate_pdf.CJK_FONT_ENV, str(tmp_path / "no-such-font.ttc"))
    monkeypatch.setattr(certificate_pdf, "CJK_FONT_PATHS", ())


def page_count(path: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)$", run("pdfinfo", str(path)), re.M).group(1))


def fonts(path: Path) -> list[dict]:
    """pdffonts' table: name, type, emb; the columns after the name are fixed-width words."""
    rows = run("pdffonts", str(path)).splitlines()[2:]
    parsed = []
    for row in rows:
        words = row.split()
        emb, sub, uni = words[-5:-2]
        parsed.append({"name": words[0], "row": row, "emb": emb, "uni": uni})
    return parsed


def decode_qr(pdf_path: Path) -> str:
    prefix = pdf_path.with_suffix("")
    run("pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf_path), str(prefix))
    return run("zbarimg", "--raw", "-q", f"{prefix}.png").strip()


def test_certificate_text_is_extractable_chinese(installed_font, write):
    path = write(render_pdf(certificate(), PUBLIC_URL))
    text = run("pdftotext", "-layout", str(path), "-")

    for expected in [
        "检定证书",
        "JD-2026-000123",
        "某市市场监督管理局计量检定所",
        "中石化&壳牌<某市>石油有限公司",
        "91410100MA44XYZ12K",
        "燃油加油机",
        "SN-20240917-0042",
        "JJG 443-2023《燃油加油机检定规程》",
        "RIG-FD-01",
        "[2025]量标证字第0123号",
        "2028年06月30日",
        "张伟",
        "2026年03月15日",
        "2027年03月14日",
        "FY-2026-00881",
        "Q1 40 L/min",
        "+0.27",
        "±0.30",
        "接近最大允许误差",
        "<TQ-2240> 双枪",
        "5 L/min<Q<60 L/min",
        "扫码核验 / Scan to verify",
        PUBLIC_URL,
        "第 1 页 共 1 页",
    ]:
        assert expected in text, expected
    assert "不合格" not in text
    assert "检定结果通知书" not in text
    assert text.count("有效期至") == 2  # the standard's and the instrument's


def test_failure_notice_says_what_failed_and_has_no_validity(installed_font, write):
    path = write(render_pdf(failure_notice(), PUBLIC_URL))
    text = run("pdftotext", "-layout", str(path), "-")

    assert "检定结果通知书" in text
    assert "检定证书" not in text
    assert "JD-2026-000124" in text
    assert "Q2 误差 +0.45 % 超出最大允许误差 ±0.30 %" in text
    assert text.count("有效期至") == 1  # the standard's; a failed instrument has no validity
    q2_row = next(line for line in text.splitlines() if "Q2 30 L/min" in line)
    assert "+0.45" in q2_row and q2_row.rstrip().endswith("不合格")
    qmax_row = next(line for line in text.splitlines() if "Qmax 60 L/min" in line)
    assert qmax_row.rstrip().endswith("合格") and "不合格" not in qmax_row
    conclusion = next(line for line in text.splitlines() if "检定结论" in line)
    assert "不合格" in conclusion


@pytest.mark.parametrize("make", [certificate, failure_notice], ids=["certificate", "failure_notice"])
def test_qr_code_on_the_page_decodes_to_the_public_url(installed_font, write, make):
    url = f"http://127.0.0.1:5000/certificates/{make()['number']}"
    assert decode_qr(write(render_pdf(make(), url))) == url


def test_a_long_url_with_a_query_is_encoded_whole(installed_font, write):
    url = "https://scjgj.example.gov.cn/certificates/JD-2026-000124?lang=zh-CN&from=qr"
    path = write(render_pdf(failure_notice(), url))
    assert decode_qr(path) == url
    assert url in run("pdftotext", str(path), "-")  # on one line, in a smaller size


def test_installed_cjk_font_is_embedded(installed_font, write):
    path = write(render_pdf(certificate(), PUBLIC_URL))
    listed = fonts(path)

    assert listed, "no fonts in the PDF"
    for font in listed:  # every font: one not embedded is drawn with whatever the viewer has
        assert "WenQuanYiMicroHei" in font["name"], font["row"]
        assert font["emb"] == "yes" and font["uni"] == "yes", font["row"]


def test_font_named_by_the_environment_is_used(monkeypatch, installed_font, write):
    monkeypatch.setattr(certificate_pdf, "CJK_FONT_PATHS", ())
    monkeypatch.setenv(certificate_pdf.CJK_FONT_ENV, WQY_MICROHEI)
    listed = fonts(write(render_pdf(certificate(), PUBLIC_URL)))
    assert [f["emb"] for f in listed] == ["yes"] and "WenQuanYiMicroHei" in listed[0]["name"]


def test_without_a_font_file_the_cid_font_still_gives_a_one_page_pdf(no_font_file, write):
    path = write(render_pdf(certificate(), PUBLIC_URL))

    assert page_count(path) == 1
    listed = fonts(path)
    assert [f["name"] for f in listed] == [certificate_pdf.FALLBACK_CID_FONT]
    assert listed[0]["emb"] == "no"
    assert decode_qr(path) == PUBLIC_URL


def test_a_file_that_is_not_a_truetype_font_falls_back(monkeypatch, write):
    monkeypatch.setattr(certificate_pdf, "CJK_FONT_PATHS", ())
    monkeypatch.setenv(certificate_pdf.CJK_FONT_ENV, __file__)
    path = write(render_pdf(failure_notice(), PUBLIC_URL))
    assert page_count(path) == 1
    assert [f["name"] for f in fonts(path)] == [certificate_pdf.FALLBACK_CID_FONT]


def test_two_renders_of_one_certificate_are_byte_identical_and_dated_by_issue(installed_font, write):
    first = render_pdf(certificate(), PUBLIC_URL)
    second = render_pdf(certificate(), PUBLIC_URL)
    assert first == second

    info = run("pdfinfo", "-isodates", str(write(first)))
    assert re.search(r"^CreationDate:\s+2026-03-15T00:00:00", info, re.M), info
    assert render_pdf(certificate(issued_on=date(2026, 3, 16)), PUBLIC_URL) != first


def test_twelve_points_fit_on_one_page(installed_font, write):
    points = [point(f"Q{i:02d} {5 * i} L/min") for i in range(1, 13)]
    path = write(render_pdf(certificate(points=points, notes=["Q01 at the limit", "Q07 at the limit"]), PUBLIC_URL))
    assert page_count(path) == 1


def test_twenty_points_flow_onto_a_second_page_with_every_label(installed_font, write):
    points = [point(f"Q{i:02d} {5 * i} L/min") for i in range(1, 21)]
    path = write(render_pdf(certificate(points=points), PUBLIC_URL))

    assert page_count(path) == 2
    text = run("pdftotext", "-layout", str(path), "-")
    for p in points:
        assert p["label"] in text, p["label"]
    assert "第 1 页 共 2 页" in text and "第 2 页 共 2 页" in text
    assert decode_qr(path) == PUBLIC_URL


def test_a_points_table_split_across_pages_repeats_its_header(installed_font, write):
    points = [point(f"Q{i:02d} {i} L/min") for i in range(1, 41)]
    path = write(render_pdf(certificate(points=points), PUBLIC_URL))

    assert page_count(path) == 2
    second_page = run("pdftotext", "-layout", "-f", "2", "-l", "2", str(path), "-")
    assert "检定点" in second_page and "最大允许误差" in second_page
    assert "Q40 40 L/min" in second_page
