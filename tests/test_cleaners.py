"""Behaviour of cleaners.extract on the fixture portals and on small hand-made pages."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from cleaners import DateHint, HostTemplate, Options, extract, learn_template
from cleaners.evaluate import evaluate, load, templates_for
from cleaners.normalize import norm, token_prf

FIXTURES = Path(__file__).resolve().parent.parent / "portal_archive" / "demo" / "fixtures"
PAGES, SITE_PAGES = load(FIXTURES)
TEMPLATES = templates_for(SITE_PAGES)
BY_ID = {p.id: p for p in PAGES}


def _extract(page, **kw):
    return extract(page.body, page.url, page.headers, template=TEMPLATES[page.portal], **kw)


def _non_articles():
    out = []
    for manifest_path in sorted((FIXTURES / "sites").glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for path, entry in manifest["urls"].items():
            if entry.get("file") and entry["page_type"] not in ("article", "article-duplicate"):
                out.append(pytest.param(manifest_path.parent, manifest, path, entry,
                                        id=f"{manifest['portal_id']}{path}"))
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_gold_article_is_extracted_cleanly(page):
    art = _extract(page)
    assert art is not None
    gold = page.gold
    assert token_prf(art.text, " ".join(gold["body"]))[2] >= 0.95
    leaked = [s for s in gold["boilerplate"]
              if art.text.count(norm(s)) > " ".join(gold["body"]).count(norm(s))]
    assert leaked == []
    assert art.title == gold["title"]
    assert art.published == gold["published"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_captions_are_split_from_body(page):
    art = _extract(page)
    assert art.captions == page.gold["captions"]
    for caption in page.gold["captions"]:
        assert caption not in art.body


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_author_summary_and_attachments(page):
    art = _extract(page)
    assert art.author == page.gold["author"]
    assert art.summary == page.gold["summary"]
    assert art.attachments == page.gold["attachments"]


@pytest.mark.parametrize("gid", ["vb-01", "al-01"])
def test_nfd_and_windows_1258_pages_come_out_nfc(gid):
    page = BY_ID[gid]
    raw = page.body.decode("utf-8" if gid == "vb-01" else "cp1258")
    assert unicodedata.normalize("NFC", raw) != raw  # the page really is decomposed
    art = _extract(page)
    for text in [art.title, art.text, *art.captions]:
        assert unicodedata.is_normalized("NFC", text)
    assert "\u00a0" not in art.text
    assert art.encoding == ("utf-8" if gid == "vb-01" else "windows-1258")


def test_lead_printed_twice_is_kept_once_as_first_paragraph():
    art = _extract(BY_ID["vb-01"])
    assert art.body[0] == art.summary
    assert art.body.count(art.summary) == 1


def test_table_rows_become_paragraphs():
    art = _extract(BY_ID["vb-03"])
    assert "Thu ngân sách | Trên 1.700 tỷ đồng | Vượt kế hoạch 6%; tăng 18% so với cùng kỳ" \
        in art.body
    assert "Tăng trưởng giá trị sản xuất | 14,64%" in art.body  # empty cell omitted


def test_header_clock_is_not_the_publication_date():
    # baonghean shows today's date in its header ("Thứ Ba, 10/03/2026 20:45 (GMT +7)").
    for page in PAGES:
        if page.portal == "baonghean":
            assert not _extract(page).published.startswith("2026-03-10")


@pytest.mark.parametrize("site,manifest,path,entry", _non_articles())
def test_non_article_pages_give_none(site, manifest, path, entry):
    body = (site / entry["file"]).read_bytes()
    headers = {"Content-Type": f"{entry['content_type']}; charset={entry['charset']}"}
    tpl = TEMPLATES[manifest["portal_id"]]
    assert extract(body, manifest["base_url"] + path, headers, template=tpl) is None
    assert extract(body, manifest["base_url"] + path, headers) is None


@pytest.mark.parametrize("body", [b"", b"   ", b"\x00\x01\x02\xff" * 100, b"%PDF-1.4\n%\xe2\xe3",
                                  bytes(range(256)) * 4, b"<html><body></body></html>",
                                  b"plain text, no markup at all"])
def test_bad_input_gives_none(body):
    assert extract(body, "http://x.test/a.html") is None


# --- hand-made pages ----------------------------------------------------------------------

PARA = ("Sáng 12/12, Ủy ban nhân dân huyện đã tổ chức hội nghị tổng kết công tác năm, "
        "đánh giá kết quả thực hiện các chỉ tiêu kinh tế - xã hội và đề ra nhiệm vụ trọng "
        "tâm cho năm tới với nhiều giải pháp cụ thể, thiết thực.")


def page(title: str, paragraphs: list[str], *, head: str = "", before: str = "",
         after: str = "", charset: str = "utf-8", site: str = "Cổng thông tin") -> str:
    ps = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html><head><meta charset='{charset}'><title>{site}</title>{head}</head>"
            f"<body><div id='top'>{before}</div><div id='main'><h1>{title}</h1>"
            f"<div class='x1'>{ps}</div>{after}</div></body></html>")


def test_header_clock_alone_gives_no_date_so_no_article():
    html = page("Hội nghị tổng kết", [PARA], before="<p>Thứ Sáu, 12/12/2025 09:15 (GMT +7)</p>")
    assert extract(html.encode(), "http://x.test/tin/hoi-nghi.html") is None


def test_visible_date_under_title_wins_over_header_clock():
    html = page("Hội nghị tổng kết", [PARA], before="<p>Thứ Sáu, 12/12/2025 09:15 (GMT +7)</p>")
    html = html.replace("</h1>", "</h1><div>Cập nhật: 08:30 | 03/11/2024</div>")
    art = extract(html.encode(), "http://x.test/tin/hoi-nghi.html")
    assert art.published == "2024-11-03T08:30:00+07:00"
    assert art.date_source == "text"


def test_yearless_date_takes_year_from_url():
    html = page("Hội nghị tổng kết", [PARA]).replace("</h1>", "</h1><div>Chiều 12/12</div>")
    art = extract(html.encode(), "http://x.test/2023/12/13/hoi-nghi.html")
    assert art.published == "2023-12-12"


def test_yearless_date_takes_year_from_a_listing_date():
    html = page("Hội nghị tổng kết", [PARA]).replace("</h1>", "</h1><div>Chiều 12/12</div>")
    art = extract(html.encode(), "http://x.test/tin/hoi-nghi.html",
                  date_hint=DateHint("2022-12-13", "listing"))
    assert (art.published, art.date_source) == ("2022-12-12", "text")


def test_sitemap_year_completes_a_yearless_date_only_on_a_declared_article():
    # A listing served at an article URL (a redesign) must not pass for a dated article.
    html = page("Hội nghị tổng kết", [PARA]).replace("</h1>", "</h1><div>Chiều 12/12</div>")
    url, hint = "http://x.test/tin/hoi-nghi.html", DateHint("2022-12-13T08:00:00+07:00", "sitemap")
    assert extract(html.encode(), url, date_hint=hint) is None
    declared = page("Hội nghị tổng kết", [PARA],
                    head="<meta property='og:type' content='article'>").replace(
        "</h1>", "</h1><div>Chiều 12/12</div>")
    art = extract(declared.encode(), url, date_hint=hint)
    assert (art.published, art.date_source) == ("2022-12-12", "text")


def test_listing_date_dates_a_page_that_prints_none():
    html = page("Hội nghị tổng kết", [PARA])
    url = "http://x.test/tin/hoi-nghi.html"
    assert extract(html.encode(), url) is None
    art = extract(html.encode(), url, date_hint=("2021-06-15", "listing"))
    assert (art.published, art.date_source, art.date_raw) == ("2021-06-15", "listing",
                                                             "2021-06-15")


def test_printed_date_wins_over_the_hint():
    html = page("Hội nghị tổng kết", [PARA]).replace(
        "</h1>", "</h1><div>Cập nhật: 08:30 | 03/11/2024</div>")
    art = extract(html.encode(), "http://x.test/tin/hoi-nghi.html",
                  date_hint=DateHint("2024-11-05", "listing"))
    assert (art.published, art.date_source) == ("2024-11-03T08:30:00+07:00", "text")


def test_sitemap_lastmod_dates_only_a_page_that_declares_itself_an_article():
    # Static pages (contact, org charts) are listed in sitemaps with a lastmod too.
    url = "http://x.test/tin/hoi-nghi.html"
    hint = DateHint("2021-06-15T09:00:00Z", "sitemap")
    assert extract(page("Hội nghị tổng kết", [PARA]).encode(), url, date_hint=hint) is None
    declared = page("Hội nghị tổng kết", [PARA],
                    head="<meta property='og:type' content='article'>")
    art = extract(declared.encode(), url, date_hint=hint)
    assert (art.published, art.date_source) == ("2021-06-15T16:00:00+07:00", "sitemap")


def test_a_hint_of_unknown_source_is_a_callers_error():
    with pytest.raises(ValueError, match="sitemap"):
        extract(page("T", [PARA]).encode(), "http://x.test/a", date_hint=("2021-06-15", "rss"))


def test_teaser_dates_of_other_articles_are_not_used():
    related = "".join(f"<li><a href='/tin-{i}.html'>Tin số {i} của cổng thông tin huyện</a> "
                      f"(0{i}/01/2020)</li>" for i in range(1, 6))
    html = page("Hội nghị tổng kết", [PARA], after=f"<ul>{related}</ul>")
    assert extract(html.encode(), "http://x.test/tin/hoi-nghi.html") is None


def test_chrome_inside_the_article_box_is_dropped():
    extra = ["Lượt xem: 1.234", "Thống kê truy cập", "A A", "Ý kiến ()", "In bài",
             "Tin liên quan", "image banner"]
    html = page("Hội nghị tổng kết", [PARA, *extra, PARA + " Hết."],
                head="<meta property='article:published_time' content='2024-05-01'>")
    art = extract(html.encode(), "http://x.test/tin/hoi-nghi.html")
    assert art.body == [PARA, PARA + " Hết."]


def test_credit_line_at_the_end_is_the_author():
    credit = "<p style='text-align:right'><strong>Theo Cổng TTĐT huyện Vĩnh Bảo</strong></p>"
    html = page("Hội nghị tổng kết", [PARA], after="",
                head="<meta property='article:published_time' content='2024-05-01'>")
    html = html.replace(f"<p>{PARA}</p>", f"<p>{PARA}</p>{credit}")
    art = extract(html.encode(), "http://x.test/tin/hoi-nghi.html")
    assert art.author == "Theo Cổng TTĐT huyện Vĩnh Bảo"
    assert art.body == [PARA]


TCVN3_TITLE = "Héi nghÞ tæng kÕt c«ng t¸c n¨m"
TCVN3_PARA = ("Uû ban nh©n d©n huyÖn §«ng TriÒu ®· tæ chøc héi nghÞ tæng kÕt c«ng t¸c n¨m "
              "vµ triÓn khai nhiÖm vô träng t©m cho n¨m tíi t¹i héi tr­êng.")
VNI_PARA = ("UÛy ban nhaân daân huyeän Ñoâng Trieàu ñaõ toå chöùc hoäi nghò toång keát "
            "coâng taùc naêm vaø trieån khai nhieäm vuï troïng taâm cho naêm tôùi.")


def test_tcvn3_page_is_converted():
    html = page(TCVN3_TITLE, [TCVN3_PARA], charset="windows-1252", site="UBND",
                head="<style>p{font-family:.VnTime}</style>"
                     "<meta property='article:published_time' content='2009-03-02'>")
    art = extract(html.encode("cp1252"), "http://x.test/tin/1.html")
    assert art.conversion == "tcvn3"
    assert art.title == "Hội nghị tổng kết công tác năm"
    assert art.body[0].startswith("Uỷ ban nhân dân huyện Đông Triều đã tổ chức hội nghị")
    assert "hội trường" in art.body[0]


def test_vni_page_is_converted():
    html = page("Hoäi nghò toång keát", [VNI_PARA], charset="windows-1252", site="UBND",
                head="<style>p{font-family:'VNI-Times'}</style>"
                     "<meta property='article:published_time' content='2009-03-02'>")
    art = extract(html.encode("cp1252"), "http://x.test/tin/1.html")
    assert art.conversion == "vni"
    assert art.title == "Hội nghị tổng kết"
    assert art.body[0].startswith("Ủy ban nhân dân huyện Đông Triều đã tổ chức hội nghị tổng")


def test_unicode_page_is_not_converted():
    art = _extract(BY_ID["na-02"])
    assert art.conversion is None


def _host_pages() -> list[bytes]:
    # Every page of this host repeats a notice inside the article box: only a template
    # learned from several pages can tell it from the article.
    notice = "Mời bạn đọc đón xem chuyên mục Nông thôn mới vào tối thứ Bảy hằng tuần."
    out = []
    for i in range(4):
        text = PARA.replace("12/12", f"{i + 1}/12") + f" Nội dung riêng số {i}."
        out.append(page(f"Tin số {i} về hội nghị", [text, notice],
                        head="<meta property='article:published_time' content='2024-05-01'>"
                        ).encode())
    return out


def test_template_learning_removes_repeated_host_chrome():
    pages = _host_pages()
    notice = "Mời bạn đọc đón xem"
    url = "http://x.test/tin/0.html"
    assert notice in extract(pages[0], url).text
    template = learn_template([(b, f"http://x.test/tin/{i}.html") for i, b in enumerate(pages)])
    cleaned = extract(pages[0], url, template=template)
    assert notice not in cleaned.text
    assert cleaned.body[0].startswith("Sáng 1/12")
    restored = HostTemplate.from_json(template.to_json())
    assert extract(pages[0], url, template=restored).body == cleaned.body


def test_template_of_a_long_crawl_stays_bounded_and_keeps_its_chrome():
    template = HostTemplate()
    for i in range(5000):  # every page: two chrome lines, two lines of its own article
        template.learn_lines(["Trang chủ", "Lượt truy cập: 1.234", f"Bài {i} mở đầu",
                              f"Bài {i} kết thúc"])
    assert template.is_chrome("Trang chủ") and template.is_chrome("Lượt truy cập: 1.234")
    assert not template.is_chrome("Bài 4999 mở đầu")
    # Without forgetting it would hold 10,002 lines, one more pair with every page crawled.
    assert len(template.counts) <= 4002


def test_options_from_user_file(tmp_path):
    cfg = tmp_path / "my.cfg"
    cfg.write_text("[cleaners]\nmin_body_chars = 5000\n", encoding="utf-8")
    opt = Options.from_config(cfg)
    assert opt.min_body_chars == 5000 and opt.listing_links == Options().listing_links
    assert extract(BY_ID["na-01"].body, BY_ID["na-01"].url, options=opt) is None
    cfg.write_text("[cleaners]\nno_such_key = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no_such_key"):
        Options.from_config(cfg)


def test_article_to_dict_is_json_ready():
    art = _extract(BY_ID["al-02"])
    d = json.loads(json.dumps(art.to_dict(), ensure_ascii=False))
    assert d["text"] == "\n".join(d["body"])
    assert d["attachments"][0]["url"].startswith("http://aluoi-tth.test/")
    assert len(d["digest"]) == 40 and d["language"] == "vi"


# --- layouts of CMS families that are not in the fixtures ---------------------------------

P1 = ("Chiều 5/3, Sở Nông nghiệp và Phát triển nông thôn tỉnh tổ chức hội nghị triển khai kế "
      "hoạch sản xuất vụ xuân, với sự tham gia của đại diện các huyện, thị xã và thành phố.")
P2 = ("Theo báo cáo, toàn tỉnh gieo cấy hơn 40.000 ha lúa, trong đó diện tích lúa chất lượng "
      "cao chiếm trên 60%, tăng 5% so với cùng kỳ năm trước.")


def test_html5_blog_layout_with_time_element_and_figure():
    html = f"""<html><head><title>Sản xuất vụ xuân – Sở NN</title></head><body>
    <header class="site-header"><div class="clock">Thứ Năm, 06/03/2025 10:00</div></header>
    <main><article><header><h1 class="entry-title">Triển khai sản xuất vụ xuân năm 2025</h1>
    <div class="entry-meta"><time datetime="2025-03-05T16:30:00+07:00">05/03/2025</time></div>
    </header><div class="entry-content"><p>{P1}</p><figure><img src="a.jpg">
    <figcaption>Quang cảnh hội nghị.</figcaption></figure><p>{P2}</p><p>Bài liên quan:</p>
    <ul><li><a href="/a">Hội nghị tổng kết công tác năm 2024 của ngành nông nghiệp</a></li>
    <li><a href="/b">Chuẩn bị vụ đông năm 2024 trên địa bàn toàn tỉnh</a></li></ul>
    <p style="text-align:right"><em>Hoàng Nam</em></p></div></article></main>
    <aside><h3>Bài viết mới</h3><a href="/c">Một tin mới khác của Sở Nông nghiệp tỉnh</a></aside>
    </body></html>"""
    art = extract(html.encode(), "http://snn.test/trien-khai/")
    assert art.title == "Triển khai sản xuất vụ xuân năm 2025"
    assert art.published == "2025-03-05T16:30:00+07:00"
    assert art.body == [P1, P2]
    assert art.captions == ["Quang cảnh hội nghị."]
    assert art.author == "Hoàng Nam"


def test_old_table_layout_without_classes():
    html = f"""<html><head><title>UBND xã</title></head><body><table><tr>
    <td width=200><a href="/">Trang chủ</a><br>Hôm nay: 12<br>Tổng lượt truy cập: 12345</td>
    <td><font size=4><b>Triển khai sản xuất vụ xuân năm 2025</b></font><br>
    <i>Ngày đăng: 05/03/2025</i><br><br>{P1}<br><br>{P2}<br><br><b>Văn phòng UBND xã</b><hr>
    <b>Các tin khác:</b><br><a href="/x1">Tin khác số một về nông nghiệp địa phương</a>
    (01/03/2025)<br><a href="/x2">Tin khác số hai về nông nghiệp địa phương</a> (02/02/2025)
    </td></tr></table></body></html>"""
    art = extract(html.encode(), "http://xa.test/tin.asp?id=5")
    assert art.title == "Triển khai sản xuất vụ xuân năm 2025"
    assert art.published == "2025-03-05"
    assert art.body == [P1, P2]
    assert art.author == "Văn phòng UBND xã"


def test_unseen_portlet_layout_generic_rules_only():
    # A portal family the fixtures do not have (portlet columns, a clock in the banner, a
    # ticker, related list inside the article box, credit line "Name - Unit" at the end).
    page = Path(__file__).parent / "fixtures" / "unseen" / "liferay-portal.html"
    art = extract(page.read_bytes(), "http://donganh.test/tin-tuc/tet-trong-cay")
    assert art.title == "Đông Anh ra quân hưởng ứng Tết trồng cây năm 2025"
    assert art.published.startswith("2025-02-03")
    assert art.author == "Nguyễn Văn Hùng - Trung tâm Văn hóa, Thông tin và Thể thao"
    assert art.captions == ["Các đại biểu trồng cây tại buổi lễ phát động."]
    text = "\n".join(art.body)
    assert text.startswith("Sáng 3/2, UBND huyện Đông Anh")
    assert text.endswith("trên địa bàn huyện.")
    for chrome in ("Tin liên quan", "Tin mới", "Hôm nay", "A A A", "Chào mừng", "Cơ quan chủ quản",
                   "Các đại biểu", "Nguyễn Văn Hùng"):
        assert chrome not in text


def test_unseen_joomla_layout_with_site_name_h1_and_header_clock():
    # Another family the fixtures do not have: the site name is the page's <h1>, the header
    # clock prints the crawl day, the headline has a dash in it, the lead is printed twice,
    # the date reads "15 Tháng 3 2024 09:12", and the page is NFD.
    page = Path(__file__).parent / "fixtures" / "unseen" / "joomla-nfd.html"
    art = extract(page.read_bytes(), "http://hoabinh.test/tin-tuc/dai-hoi.html")
    assert art.title == "Xã Hòa Bình tổ chức Đại hội Hội Nông dân nhiệm kỳ 2023 - 2028"
    assert art.published == "2024-03-15T09:12:00+07:00"
    assert art.author == "Theo Hội Nông dân xã"
    text = "\n".join(art.body)
    assert unicodedata.is_normalized("NFC", text)
    assert text.count("long trọng tổ chức Đại hội") == 1
    assert "Hộ sản xuất giỏi | 312 hộ" in text
    for chrome in ("Lượt xem", "Chia sẻ", "Ý kiến", "Các tin khác", "Bản quyền", "Hôm nay"):
        assert chrome not in text


def test_unseen_br_separated_layout_with_section_label_and_labelled_byline():
    # Paragraphs split by <br><br> in one div, an all-caps section label above the headline,
    # "Tác giả: ..." as the byline, a related list inside the article box.
    page = Path(__file__).parent / "fixtures" / "unseen" / "br-paragraphs.html"
    art = extract(page.read_bytes(), "http://kinhmon.test/tin-tuc/giai-ngan.html")
    assert art.title == "Kinh Môn: Giải ngân vốn đầu tư công đạt 65% kế hoạch"
    assert art.published == "2023-04-12T10:25:00+07:00"
    assert art.author == "Minh Anh"
    assert len(art.body) == 3
    assert art.body[-1].endswith("ngay khi có đủ điều kiện.")


def test_unseen_layout_with_the_dateline_below_the_article():
    page = Path(__file__).parent / "fixtures" / "unseen" / "dateline-below.html"
    art = extract(page.read_bytes(), "http://coto.test/tin/dien-tap.html")
    assert art.published == "2024-04-18T16:20:00+07:00"  # not the clock, not a teaser's date
    assert art.body[-1].startswith("Qua diễn tập")


@pytest.mark.parametrize("name", ["listing.html", "contact.html"])
def test_unseen_listing_and_contact_pages_are_not_articles(name):
    page = Path(__file__).parent / "fixtures" / "unseen" / name
    assert extract(page.read_bytes(), f"http://coto.test/{name}") is None


# --- structure, not vocabulary: the same pages with every class/id renamed -----------------

PATTERNS = Path(__file__).parent / "fixtures" / "patterns"


@pytest.mark.parametrize("directory", [FIXTURES, PATTERNS], ids=["portals", "patterns"])
def test_scrambled_class_names_score_as_the_originals(directory):
    plain = {s.name: s for s in evaluate(directory)["summary"]}["cleaners"]
    result = evaluate(directory, scramble=True)
    scrambled = {s.name: s for s in result["summary"]}["cleaners"]
    assert [s.id for s in result["cleaners"] if not s.extractor] == []  # no article lost
    assert abs(scrambled.f1 - plain.f1) <= 0.01
    assert (scrambled.title, scrambled.date, scrambled.author) == (plain.title, plain.date,
                                                                   plain.author)


PATTERN_PAGES, PATTERN_SITES = load(PATTERNS)
PATTERN_TEMPLATES = templates_for(PATTERN_SITES)


@pytest.mark.parametrize("page", PATTERN_PAGES, ids=lambda p: p.id)
def test_structures_of_real_cmss_are_read_as_a_reader_would(page):
    # Main column classed like chrome, figcaption paragraphs, a photo story, a text split
    # around a player, related boxes with unlinked teasers, portlet headings, "null", 12-hour
    # clocks, CMS accounts and publisher names where the byline goes, agency credits.
    art = extract(page.body, page.url, page.headers, template=PATTERN_TEMPLATES[page.portal])
    gold = page.gold
    assert (art.title, art.published, art.author) == (gold["title"], gold["published"],
                                                      gold["author"])
    assert art.body == gold["body"]
    assert art.captions == gold["captions"]
    assert art.attachments == gold["attachments"]
    assert art.language == gold.get("language", "vi")
    for chrome in gold["boilerplate"]:
        assert chrome not in art.text


@pytest.mark.parametrize("clock,iso", [
    ("Ngày đăng 18/03/2019 | 3:06 PM", "2019-03-18T15:06:00+07:00"),
    ("21/12/2012 | 12:00 AM", "2012-12-21T00:00:00+07:00"),
    ("03:06 CH, 12/03/2024", "2024-03-12T15:06:00+07:00"),
    ("20/05/2020 09:15 SA", "2020-05-20T09:15:00+07:00"),
    ("Thứ năm, 12/6/2025, 15h06 (GMT+7)", "2025-06-12T15:06:00+07:00"),
    ("12/03/2024 12:30 PM", "2024-03-12T12:30:00+07:00"),
])
def test_printed_clocks_twelve_and_twenty_four_hour(clock, iso):
    html = page("Hội nghị tổng kết", [PARA]).replace("</h1>", f"</h1><div>{clock}</div>")
    art = extract(html.encode(), "http://x.test/tin/hoi-nghi.html")
    assert (art.published, art.date_source) == (iso, "text")


def test_meta_author_naming_the_site_is_not_a_byline_and_json_ld_person_is():
    head = ("<meta property='og:site_name' content='Báo Mẫu điện tử'>"
            "<meta name='author' content='Báo Mẫu điện tử'>"
            "<meta property='article:published_time' content='2024-05-01'>")
    html = page("Hội nghị tổng kết", [PARA], head=head)
    assert extract(html.encode(), "http://x.test/tin/a.html").author is None
    person = head + ('<script type="application/ld+json">{"@type": "NewsArticle", '
                     '"author": {"@type": "Person", "name": "Lan Anh"}}</script>')
    html = page("Hội nghị tổng kết", [PARA], head=person)
    assert extract(html.encode(), "http://x.test/tin/a.html").author == "Lan Anh"


def test_paragraphs_our_box_finder_cannot_weigh_are_read_by_trafilatura():
    # Every paragraph wrapped in a link (a CMS making the whole text clickable): no block
    # votes for a box, so trafilatura chooses the text and our rules still clean it.
    paras = [PARA, PARA.replace("12/12", "13/12") + " Hội nghị kết thúc lúc 17 giờ."]
    body = "".join(f"<a href='/tin/hoi-nghi.html#p{i}'><p>{p}</p></a>" for i, p in
                   enumerate(paras))
    html = (f"<html><head><title>Hội nghị</title><meta property='article:published_time' "
            f"content='2024-05-01'></head><body><h1>Hội nghị tổng kết năm</h1>{body}"
            f"<p>Lượt xem: 1.234</p></body></html>")
    art = extract(html.encode(), "http://x.test/tin/hoi-nghi.html")
    assert art.extractor == "trafilatura"
    assert art.body == paras
    assert art.title == "Hội nghị tổng kết năm"
