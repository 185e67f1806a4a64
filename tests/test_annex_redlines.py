"""Issue #10: each redline a municipal 法務担当 made, read back from the rendered PDF and DOCX.

One test per redline, for every engagement kind and for a conditional approval."""

from __future__ import annotations

import copy
import io
import re

import docx
import pytest
from pypdf import PdfReader
from test_annex_pdf import SHA, make_snapshot

from vendorrisk.adapters.docx import render_docx
from vendorrisk.adapters.pdf import AnnexRenderer
from vendorrisk.domain.annex import NO_RELIEF, annex_text, compose_annex

KINDS = [("outsourcing",), ("cloud",), ("social_media",), ("outsourcing", "cloud", "social_media")]


@pytest.fixture(scope="module")
def renderer():
    return AnnexRenderer()


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def texts(renderer, snap) -> tuple[str, str]:
    """(PDF text, DOCX text) of the annex composed from `snap`, whitespace removed."""
    doc = compose_annex(snap)
    pdf = PdfReader(io.BytesIO(renderer.pdf(doc, attachment_json=b"{}")))
    d = docx.Document(io.BytesIO(render_docx(doc)))
    docx_text = "\n".join(p.text for p in d.paragraphs)
    docx_text += "\n".join(c.text for t in d.tables for row in t.rows for c in row.cells)
    docx_text += "\n".join(p.text for s in d.sections for p in s.footer.paragraphs)
    return squash("".join(p.extract_text() for p in pdf.pages)), squash(docx_text)


@pytest.fixture(scope="module", params=KINDS, ids=lambda k: "+".join(k))
def rendered(request, renderer):
    snap = make_snapshot(kinds=request.param, memorandum=False)
    return snap, texts(renderer, snap)


def test_no_assessment_internals_in_the_signed_text(rendered):
    snap, both = rendered
    for text in both:
        for internal in ("確認結果", "条件付き適合", "適合", SHA[:16], snap["document_id"], "SHA-256"):
            assert internal not in text, internal


def test_findings_are_obligations_with_a_deadline(rendered):
    _, both = rendered
    for text in both:
        assert "令和9年1月31日までに、管理者アカウントに多要素認証を設定し、その結果を書面で甲に報告すること。" in text
        assert "管理者に多要素認証を設定すること。" not in text  # the bank's instruction to the vendor
        assert "out.mfa" not in text and "しますか" not in text  # neither the question nor its id


def test_checking_never_relieves_the_contractor(rendered):
    for text in rendered[1]:
        assert squash(NO_RELIEF) in text


def test_incident_article_triggers_contents_and_article_68(rendered):
    for text in rendered[1]:
        assert "事故が発生し、若しくは発生したおそれがあることを知ったとき" in text
        assert "個人情報の保護に関する法律第68条" in text
        assert "発生日時、発見日時及び発見の経緯" in text
        assert "本業務の全部又は一部の停止及び甲の情報の引渡し" in text


def test_return_and_disposal_on_termination_backups_and_certificate(rendered):
    for text in rendered[1]:
        assert "本契約が終了し、若しくは解除されたとき、又は甲の指示があったとき" in text
        assert "バックアップ及び従事者が使用した端末" in text and "廃棄証明書" in text


def test_compliance_with_what_was_shown(rendered):
    for text in rendered[1]:
        assert "本業務に関係する部分として甲が乙に示したものを遵守" in text


def test_termination_without_notice_costs_and_subcontractors(rendered):
    for text in rendered[1]:
        assert "何らの催告を要せず" in text and "解除により乙に生じた損害を賠償する責めを負わない" in text
        assert "通知、問合せへの対応及び調査の費用" in text and "第三者から甲に対し請求" in text
        assert "再委託先その他乙が本業務に使用する者の行為" in text


def test_audit_by_designee_and_cloud_report(rendered):
    snap, both = rendered
    cloud = "cloud" in snap["engagement"]["kinds"]
    for text in both:
        assert "甲又は甲が指定する者は" in text
        assert ("第三者による監査報告書（ISMAPにおける監査の結果等）" in text) == cloud


def test_personal_data_articles_66_67_and_penalties(rendered):
    for text in rendered[1]:
        assert "法律第66条第2項" in text and "同法第67条" in text and "罰則" in text


def test_missing_articles_now_present(rendered):
    snap, both = rendered
    social = "social_media" in snap["engagement"]["kinds"]
    for text in both:
        assert "別に定めるサービスレベル" in text
        assert "アクセスの種類、範囲及び方法" in text and "貸与物を返却" in text
        assert "従事者の名簿" in text and "誓約書" in text
        assert ("認証情報を甲に返還" in text and "連携を解除" in text) == social


def test_defined_terms_and_no_duplicate(rendered):
    for text in rendered[1]:
        for term in ("情報資産本業務に関し", "機密性2以上の情報甲の情報セキュリティポリシー", "資料等本業務に関し"):
            assert term in text
        assert "業務上の情報を本業務の履行以外の目的に使用してはならない" not in text  # was 第3条2項


def test_citation_normalised_with_the_bodys_name(renderer):
    snap = make_snapshot(kinds=("outsourcing",), memorandum=False)
    snap["organisation"]["policy_title"] = "情報セキュリティ基本方針"
    snap["organisation"]["clause"]["number"] = "6 (８ )"
    for text in texts(renderer, snap):
        assert "玉名市情報セキュリティ基本方針6(8)「業務委託" in text
        assert "(８" not in text


def test_one_digit_style_and_municipal_headings(renderer):
    snap = make_snapshot(kinds=("outsourcing",), memorandum=False)
    for text in texts(renderer, snap):
        assert "（総則）第1条本特記事項は" in text and "別表1" in text and "機密性2" in text
        assert not re.search("[０-９]", text.replace("０９６", ""))
    snap = copy.deepcopy(snap)
    snap["organisation"].update(heading_style="inline", digit_style="full")
    for text in texts(renderer, snap):
        assert "第１条（総則）本特記事項は" in text and "別表１" in text and "機密性２" in text


def test_memorandum_titled_worded_and_signed_blank(renderer):
    snap = make_snapshot(kinds=("outsourcing",), memorandum=True)
    snap["organisation"].update(address="熊本県玉名市岩崎163番地", head_name="蔵原 隆浩")
    for text in texts(renderer, snap):
        assert text.startswith("情報セキュリティに関する覚書") or "情報セキュリティに関する覚書" in text[:40]
        assert "次のとおり覚書を締結する。" in text and "本覚書の締結を証するため" in text
        assert "本特記事項" not in text
        assert "熊本県玉名市岩崎163番地" in text and "玉名市長蔵原隆浩" in text
        assert "令和年月日" in text and "令和8年11月22日" not in text


def test_pdf_a3a_tagged_with_the_answers_attached_once(renderer, tmp_path):
    import subprocess

    doc = compose_annex(make_snapshot(memorandum=False))
    pdf = renderer.pdf(doc, attachment_json=b'{"answers": 1}')
    path = tmp_path / "annex.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Tagged:\s+yes", info, re.M)
    reader = PdfReader(io.BytesIO(pdf))
    assert list(reader.attachments) == ["answers-snapshot.json"]
    assert len(reader.attachments["answers-snapshot.json"]) == 1
    raw = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:conformance[>=\"']+A", raw)
    roles: set[str] = set()

    def walk(node, depth=0):
        node = node.get_object()
        if "/S" in node:
            roles.add(str(node["/S"]))
        kids = node.get("/K")
        if kids is None or depth > 60:
            return
        for kid in kids if isinstance(kids, list) else [kids]:
            kid = kid.get_object() if hasattr(kid, "get_object") else kid
            if isinstance(kid, dict):
                walk(kid, depth + 1)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    assert {"/H1", "/H3", "/Table", "/L"} <= roles, roles


def test_terms_of_service_cloud_gets_a_one_page_internal_usage_record(renderer):
    snap = make_snapshot(kinds=("cloud",), memorandum=False)
    snap["cloud"]["high"] = False
    snap["engagement"]["confidentiality"] = 1
    doc = compose_annex(snap)
    assert doc.document_kind == "usage_record" and not doc.articles
    pdf = renderer.pdf(doc, attachment_json=b"{}")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    for text in texts(renderer, snap):
        assert "外部サービス利用承認記録" in text and "機密性2以上の情報を取り扱わない" in text
        assert "サンプル住民情報クラウド" in text and "﨑山一郎" in text and "令和年月日" in text
        assert "第1条" not in text and "乙は" not in text and "記名押印" not in text
    snap["organisation"]["cloud_low_document"] = "annex"
    assert compose_annex(snap).document_kind == "annex"


#: Obligations said once per annex; where another article touches them it cites the article that says it.
ONCE = {
    "deletion with backups and a certificate": r"廃棄証明書",
    "no change of the data's location without consent": r"承諾を得ずに[^。]{0,12}変更してはならない",
    "report at once and follow 甲's instructions": r"直ちに甲に報告し、甲の指示に従",
}


def test_each_obligation_is_stated_once_and_cross_referenced(rendered):
    snap, both = rendered
    doc = compose_annex(snap)
    label = {a.key: a.label for a in doc.articles}
    for text in (*both, squash(annex_text(doc))):
        text = re.sub(r"\d+/\d+", "", text)  # the page footer (「5/8」) falls mid-sentence in the PDF text
        for what, pattern in ONCE.items():
            assert len(re.findall(pattern, text)) == 1, what
        assert "その結果を記録した書面" not in text  # was 利用終了時の措置 2項, repeating 廃棄証明書
        kinds = snap["engagement"]["kinds"]
        if "cloud" in kinds:
            assert f"{label['return_disposal']}の規定により消去" in text
            assert f"{label['work_setup']}に規定するデータ保管場所に含まれる" in text
        if "social_media" in kinds:
            assert f"{label['incident']}に規定する事故とみなす" in text
            assert f"{label['incident']}の規定によるほか" in text
