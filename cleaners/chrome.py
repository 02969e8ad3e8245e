"""Portal chrome: text lines and class/id names that are never article text.

Lines are matched after normalisation (NFC, collapsed spaces), case-insensitively.  The
vocabulary is what Vietnamese government CMSs print, not the names of particular hosts.
"""

from __future__ import annotations

import re

_I = re.I | re.U
# "truy cập" is often misspelled "truy câp"/"truy cap"; "lượt" as "luợt"/"lượt".
_TRUY_CAP = r"truy\s*c[aâậ]p"
_COUNTER = re.compile(
    rf"^(?:thống kê {_TRUY_CAP}|(?:số\s*)?l[ưu][ợo]t (?:{_TRUY_CAP}|xem|đọc|view)"
    rf"|{_TRUY_CAP}(?: (?:tổng|hiện tại|hôm nay|trong ngày|trong tháng))?"
    rf"|đã {_TRUY_CAP}|tổng(?: số)?(?: lượt)? {_TRUY_CAP}|đang (?:online|{_TRUY_CAP})"
    r"|hôm nay|hôm qua|tuần này|tháng này|trong ngày|trực tuyến|online|visitors?|views?)"
    r"\s*:?\s*[\d.,\s]*$", _I)
_LIST_HEADINGS = re.compile(
    r"^(?:(?:các )?tin (?:mới(?: nhất| cập nhật)?|nóng|tiêu điểm|liên quan|khác|cùng chuyên mục"
    r"|nổi bật|đọc nhiều|xem nhiều|đã đưa|ảnh|bài khác)|bài (?:viết )?(?:liên quan|khác)"
    r"|xem (?:thêm|nhiều(?: nhất)?|tin theo ngày)|đọc (?:thêm|nhiều(?: nhất)?)|liên kết website"
    r"|website liên kết|chuyên mục|tiêu điểm|có thể bạn quan tâm|tin tức liên quan"
    r"|(?:other|related|latest|more|top) (?:news|articles|stories)|most (?:read|viewed)"
    r"|read more|see also)\s*:?$", _I)
_CONTROLS = re.compile(
    r"^(?:(?:a[-+]?\s*){2,3}|cỡ chữ.*|ý kiến\s*\(\s*\d*\s*\)|bình luận\s*\(\s*\d*\s*\)"
    r"|ý kiến bạn đọc|gửi ý kiến|in bài(?: viết)?|bản in|gửi (?:bài|email|cho bạn bè)|chia sẻ"
    r"|quay lại|trở về|về đầu trang|lên đầu trang|share|tweet|like|lưu tin|print|email|zalo"
    r"|facebook|tập tin đính kèm|file đính kèm|tệp đính kèm|tài liệu đính kèm|đính kèm"
    r"|\(\d+ (?:hình|ảnh)\)|image(?: \w+)?|banner|quảng cáo|advertisement)\s*:?$", _I)
_BADGES = re.compile(r"^(?:ch[uứ]ng nh[aậ]n t[iíì]n nhi[eệ]m m[aạ]ng|tín nhiệm mạng)", _I)
# The footer's imprint: address, phones, copyright and reprint notices.
_IMPRINT = re.compile(
    r"^(?:địa chỉ|đ/c|trụ sở|điện thoại|đt|fax|e-?mail|hotline)\s*:|bản quyền|copyright|©"
    r"|ghi rõ nguồn|giấy phép(?: số| xuất bản)|chịu trách nhiệm(?: chính| nội dung)?\s*:", _I)
# "Nguồn: www.baoxaydung.com.vn" is a source note; credits keep "Theo ..." (see authors).
SOURCE_LINE = re.compile(r"^(?:nguồn(?: tin| ảnh)?|source)\s*:", _I)

_LINE_RES = (_COUNTER, _LIST_HEADINGS, _CONTROLS, _BADGES)
_LINE_SEARCH = (_IMPRINT,)


def is_chrome_line(line: str) -> bool:
    """True for a whole line that is page furniture whatever page it is on."""
    if len(line) > 160:
        return False
    if len(line) <= 120 and any(r.match(line) for r in _LINE_RES):
        return True
    return any(r.search(line) for r in _LINE_SEARCH)


# class/id vocabulary of non-content boxes (lower-cased class+id string, substring match
# on word-ish parts).  Camel-case CMS names like "tdCacTinKhac" are covered by substrings.
CHROME_CLASS = re.compile(
    r"share|social|comment|binhluan|y-?kien|related|lien-?quan|tin-?khac|other|samecat"
    r"|cung-?chuyen-?muc|readmost|most-?read|doc-?nhieu|xem-?nhieu|newest|tin-?moi|latest"
    r"|sidebar|banner|advert|(?:^|[-_ ])adv?s?(?:$|[-_ ])|quang-?cao|breadcrumb|menu|navbar"
    r"|footer|counter|thong-?ke|weblink|lien-?ket|print|fontsize|font-size|paging|pagination"
    r"|(?:^|[-_ ])tags?(?:$|[-_ ])|rating|toolbar|cong-?cu|tim-?kiem|search|tin-?chay|ticker"
    r"|marquee|xem-?theo-?ngay|chuyen-?muc|slogan|widget|popup|modal|cookie|login", re.I)

# Elements whose content is never article text.
SKIP_TAGS = frozenset({
    "script", "style", "noscript", "template", "svg", "select", "option", "input", "button",
    "textarea", "iframe", "object", "embed", "marquee", "nav", "footer", "aside", "form-ignored",
    "head", "title", "meta", "link", "canvas", "video", "audio", "map", "label",
})
