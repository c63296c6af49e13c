#!/usr/bin/env python3
"""Writes the import fixtures: the same four penalty decisions of a market regulator as its
case-handling system would export them (双公示, the national standard's columns), in the three
forms officials have: an Excel workbook (written by openpyxl), CSV in GB18030 and CSV in UTF-8
with a BOM (encoded by Python's codecs); a licence export; a file of bad rows; and the records
each must give, written here by hand from the decisions (the known answers).

This script is independent of creditlog's own code (its own USCC check, its own encoders), so the
fixtures test the import against an outside oracle. It is run once by a developer and its output
committed; CI does not run it:

    python3 -m venv /tmp/fx && /tmp/fx/bin/pip install openpyxl==3.1.5
    /tmp/fx/bin/python testdata/imports/make_fixtures.py
"""
import datetime
import json
import os

import openpyxl

HERE = os.path.dirname(os.path.abspath(__file__))
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(first17):
    """GB 32100-2015: the check character of a Unified Social Credit Code."""
    s = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS))
    return first17 + ALPHABET[(31 - s % 31) % 31]


AMR = "淄博市张店区市场监督管理局"
AMR_CODE = "11370303004123456X"  # the body's own code column: dropped at import
ID_NUMBER = "11010519491231002X"  # GB 11643-1999's worked example: a valid ID number
FIRMS = {
    "A": ("淄博甲商贸有限公司", "法人及非法人组织", uscc("91370303MA3C8DXA2")),
    "B": ("淄博乙食品有限公司", "法人及非法人组织", uscc("91370303MA3D00001")),
    "C": ("张店区丙副食店", "个体工商户", uscc("92370303MA3D00002")),
    "D": ("淄博丁化工有限公司", "法人及非法人组织", uscc("91370303MA3D00003")),
    "E": ("淄博戊建材有限公司", "法人及非法人组织", uscc("91370303MA3D00004")),
}

STANDARD = [
    "行政相对人名称", "行政相对人类别", "行政相对人代码_1（统一社会信用代码）", "行政相对人代码_2（工商注册号）",
    "行政相对人代码_3（组织机构代码）", "行政相对人代码_4（税务登记号）", "行政相对人代码_5（事业单位证书号）",
    "行政相对人代码_6（社会组织登记证号）", "法定代表人", "法定代表人证件类型", "法定代表人证件号码", "证件类型", "证件号码",
    "行政处罚决定书文号", "违法行为类型", "违法事实", "处罚依据", "处罚类别", "处罚内容", "罚款金额（万元）",
    "没收违法所得、没收非法财物的金额（万元）", "暂扣或吊销证照名称及编号", "处罚决定日期", "处罚有效期", "公示截止期",
    "处罚机关", "处罚机关统一社会信用代码", "数据来源单位", "数据来源单位统一社会信用代码", "备注",
]
# The variants other systems write: half-width parentheses, 处罚金额 for 罚款金额, 财务 for 财物,
# required-field marks, and an added export-time column.
VARIANT = [h.replace("（", "(").replace("）", ")") for h in STANDARD]
VARIANT[VARIANT.index("罚款金额(万元)")] = "处罚金额(万元)"
VARIANT[VARIANT.index("没收违法所得、没收非法财物的金额(万元)")] = "没收违法所得、没收非法财务的金额(万元)"
VARIANT[VARIANT.index("行政处罚决定书文号")] = "行政处罚决定书文号*"
VARIANT.append("数据导出时间")

# The four decisions: (firm, reference, violation type, facts, basis, categories, content,
# fine 万元, confiscated 万元, decision date, publicity end).
DECISIONS = [
    ("A", "淄张市监罚〔2026〕118号", "虚假广告", "发布虚假广告宣传", "《中华人民共和国广告法》第五十五条",
     "警告;罚款", "警告，罚款123500元", "12.35", "0", (2026, 11, 20), (2027, 11, 20)),
    ("B", "淄张市监罚〔2026〕97号", "食品安全", "未按规定查验进货凭证", "《中华人民共和国食品安全法》第一百二十六条",
     "罚款", "罚款1000元", "0.1", "", (2026, 10, 8), (2027, 1, 8)),
    ("C", "淄张市监罚〔2026〕64号", "无照经营", "超出核准范围经营", "《无证无照经营查处办法》第十三条",
     "罚款、没收违法所得", "罚款5000元，没收违法所得3500元", "0.5", "0.35", (2026, 9, 1), (2027, 9, 1)),
    ("D", "淄张市监罚〔2025〕301号", "安全生产", "未取得许可生产危险化学品", "《危险化学品安全管理条例》第七十七条",
     "罚款；责令停产停业", "罚款20万元，责令停产停业", "20", "0", (2025, 12, 31), (2028, 12, 31)),
]
# The records they must give (known answers, worked out by hand: 12.35 万元 = 12,350,000 fen;
# 2026-10-08 to 2027-01-08 is 3 months, a fine alone, so minor; 责令停产停业 is serious).
EXPECTED = [
    ("A", "2026-11-20", {"violation_type": "虚假广告", "violation": "发布虚假广告宣传", "penalties": ["warning", "fine"],
                         "fine_amount_fen": 12350000, "severity": "ordinary", "publicity_months": 12,
                         "legal_basis": "《中华人民共和国广告法》第五十五条"}),
    ("B", "2026-10-08", {"violation_type": "食品安全", "violation": "未按规定查验进货凭证", "penalties": ["fine"],
                         "fine_amount_fen": 100000, "severity": "minor", "publicity_months": 3,
                         "legal_basis": "《中华人民共和国食品安全法》第一百二十六条"}),
    ("C", "2026-09-01", {"violation_type": "无照经营", "violation": "超出核准范围经营",
                         "penalties": ["fine", "confiscation_of_illegal_gains"], "fine_amount_fen": 500000,
                         "confiscated_amount_fen": 350000, "severity": "ordinary", "publicity_months": 12,
                         "legal_basis": "《无证无照经营查处办法》第十三条"}),
    ("D", "2025-12-31", {"violation_type": "安全生产", "violation": "未取得许可生产危险化学品",
                         "penalties": ["fine", "ordered_to_suspend"], "fine_amount_fen": 20000000,
                         "severity": "serious", "publicity_months": 36,
                         "legal_basis": "《危险化学品安全管理条例》第七十七条"}),
]


def iso(d):
    return "%04d-%02d-%02d" % d


def slash(d):
    return "%d/%d/%d" % d


def chinese(d):
    return "%d年%d月%d日" % d


def row(dec, date_form, end_form, amount=lambda s: s, representative=True):
    firm, ref, vtype, facts, basis, cats, content, fine, conf, date, end = dec
    name, category, code = FIRMS[firm]
    person = ["张某", "身份证", ID_NUMBER, "", ""] if representative else ["", "", "", "", ""]
    return [name, category, code, "", "", "", "", ""] + person + [
        ref, vtype, facts, basis, cats, content, amount(fine), amount(conf), "", date_form(date),
        "2099-12-31", end_form(end), AMR, AMR_CODE, AMR, AMR_CODE, ""]


def write_csv(path, header, rows, encoding):
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    with open(path, "wb") as f:
        f.write(buf.getvalue().encode(encoding))


def record(firm, date, reference, fields, kind="administrative_penalty"):
    return {"type": "creditlog.record/v1", "kind": kind, "subject": FIRMS[firm][2], "department": "zibo-amr",
            "date": date, "reference": reference, "fields": fields}


def dumps(v):
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def main():
    # Excel: a title row above the header; dates as date cells (rows 1 and 4) or text; amounts as
    # number cells.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "行政处罚"
    ws.append(["淄博市张店区市场监督管理局行政处罚信息（双公示）"])
    ws.append(STANDARD)
    forms = [(lambda d: datetime.date(*d), chinese), (slash, iso), (chinese, slash), (lambda d: datetime.date(*d), iso)]
    for dec, (df, ef) in zip(DECISIONS, forms):
        r = row(dec, df, ef, amount=lambda s: float(s) if s else None)
        ws.append(r)
        cell = ws.cell(row=ws.max_row, column=STANDARD.index("处罚决定日期") + 1)
        if isinstance(cell.value, datetime.datetime):
            cell.number_format = "yyyy-mm-dd"
    wb.save(os.path.join(HERE, "penalties.xlsx"))

    gb_forms = [(chinese, iso), (iso, slash), (slash, chinese), (chinese, chinese)]
    write_csv(os.path.join(HERE, "penalties.gb18030.csv"), STANDARD,
              [row(d, df, ef) for d, (df, ef) in zip(DECISIONS, gb_forms)], "gb18030")
    bom_forms = [(slash, slash), (chinese, iso), (iso, iso), (slash, chinese)]
    write_csv(os.path.join(HERE, "penalties.utf8bom.csv"), VARIANT,
              [row(d, df, ef) + ["2026-11-29 08:00:00"] for d, (df, ef) in zip(DECISIONS, bom_forms)], "utf-8-sig")
    with open(os.path.join(HERE, "penalties.expected.jsonl"), "w", encoding="utf-8") as f:
        for (firm, date, fields), dec in zip(EXPECTED, DECISIONS):
            f.write(dumps(record(firm, date, dec[1], fields)) + "\n")

    # Licences (GB18030): one without end (2099-12-31), one with a licence number of its own.
    lic_header = STANDARD[:13] + ["行政许可决定文书名称", "行政许可决定文书号", "许可类别", "许可证书名称", "许可编号", "许可内容",
                                  "许可决定日期", "有效期自", "有效期至", "许可机关", "许可机关统一社会信用代码", "当前状态",
                                  "数据来源单位", "数据来源单位统一社会信用代码", "备注"]
    lic_rows = [
        [*FIRMS["A"][:2], FIRMS["A"][2], "", "", "", "", "", "张某", "身份证", ID_NUMBER, "", "",
         "准予行政许可决定书", "淄张市监许〔2026〕12号", "普通", "食品经营许可证", "JY13703030012345", "预包装食品销售",
         "2026年3月2日", "2026年3月2日", "2031年3月1日", AMR, AMR_CODE, "有效", AMR, AMR_CODE, ""],
        [*FIRMS["D"][:2], FIRMS["D"][2], "", "", "", "", "", "", "", "", "", "",
         "准予行政许可决定书", "淄张市监许〔2026〕13号", "普通", "", "", "危险化学品经营",
         "2026/4/1", "2026/4/1", "2099-12-31", AMR, AMR_CODE, "有效", AMR, AMR_CODE, ""],
    ]
    write_csv(os.path.join(HERE, "licences.gb18030.csv"), lic_header, lic_rows, "gb18030")
    with open(os.path.join(HERE, "licences.expected.jsonl"), "w", encoding="utf-8") as f:
        f.write(dumps(record("A", "2026-03-02", "淄张市监许〔2026〕12号",
                             {"licence_name": "食品经营许可证", "licence_number": "JY13703030012345",
                              "valid_from": "2026-03-02", "valid_until": "2031-03-01", "scope": "预包装食品销售"},
                             "administrative_licence")) + "\n")
        # No licence name or number: the decision document's name and number stand in.
        f.write(dumps(record("D", "2026-04-01", "淄张市监许〔2026〕13号",
                             {"licence_name": "准予行政许可决定书", "licence_number": "淄张市监许〔2026〕13号",
                              "valid_from": "2026-04-01", "scope": "危险化学品经营"},
                             "administrative_licence")) + "\n")

    # Bad rows (UTF-8): what a real export holds besides good rows. The expected outcome of each
    # line is in tests/tests/imports.rs.
    good = ("E", "淄张市监罚〔2026〕130号", "价格违法", "未明码标价", "《中华人民共和国价格法》第四十二条",
            "警告", "警告", "", "", (2026, 11, 2), (2027, 2, 2))
    def alter(dec, **kw):
        fields = dict(zip(["firm", "ref", "vtype", "facts", "basis", "cats", "content", "fine", "conf", "date", "end"], dec))
        fields.update(kw)
        return tuple(fields.values())
    bad = [
        row(good, iso, iso),                                                       # 2 appended
        row(good, iso, iso),                                                       # 3 repeats line 2
        row(DECISIONS[0], iso, iso),                                               # 4 already on the log
        row(alter(good, ref="淄张市监罚〔2026〕131号"), iso, iso),                   # 5 a person (below)
        row(alter(good, ref="淄张市监罚〔2026〕132号"), iso, iso),                   # 6 no USCC (below)
        row(alter(good, ref="淄张市监罚〔2026〕133号", date=(2026, 2, 30)), iso, iso),  # 7 no such day
        row(alter(good, ref="淄张市监罚〔2026〕134号", cats="罚款", fine="1.2345678"), iso, iso),  # 8 below a fen
        row(alter(good, ref="淄张市监罚〔2026〕135号", facts="法定代表人（身份证号110105194912310021X）…"), iso, iso),  # 9 (below)
        row(alter(good, ref="淄张市监罚〔2026〕136号"), iso, iso),                   # 10 another body (below)
        row(alter(good, ref="淄张市监罚〔2026〕137号", cats="其他"), iso, iso),        # 11 其他
        row(alter(good, facts="未按规定明码标价"), iso, iso),                         # 12 line 2's number, other facts
        row(alter(good, ref="淄张市监罚〔2026〕138号", date=(2031, 1, 5), end=(2031, 4, 5)), iso, iso),  # 13 future
    ]
    bad[3][1] = "自然人"
    bad[3][12] = ID_NUMBER
    bad[4][2] = ""
    bad[7][15] = "法定代表人（身份证号" + ID_NUMBER + "）擅自变更经营场所"
    bad[8][25] = "淄博市张店区综合行政执法局"
    write_csv(os.path.join(HERE, "penalties.bad.csv"), STANDARD, bad, "utf-8")


if __name__ == "__main__":
    main()
