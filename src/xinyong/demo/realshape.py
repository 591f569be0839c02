"""Penalty files shaped like a real department's (the ingest benchmark's default input).

A 市场监管局's penalty file names mostly different companies and people, and its 违法事实 and
处罚内容 differ from case to case. `write_real_penalty_file` draws rows so that, by default:

- about 80 % of rows name a subject not seen before in the file (`new_share`); the repeats
  come from a skewed tail: half of them from the 1 % most frequent offenders, the rest from
  any subject seen so far;
- about 20 % of rows are natural persons (`person_share`), about 6 % 个体工商户, the rest
  organisations, each with a valid, distinct code (USCC, or GB 11643 identity number);
- document numbers are unique; 违法事实 and 处罚内容 are templated texts whose details (date,
  address, goods, quantities, amounts) vary per row, so almost no two rows share them;
- `bad_ratio` (2 %) of rows are invalid, cycling through the kinds in `BAD_KINDS` — every one
  of which the platform must return with a reason.

All rows belong to one department (real files hold one department's decisions). The file
depends on its arguments only. `FileStats` says what was written, so the benchmark prints
the input's real cardinalities and the tests check them against this docstring.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from xinyong.core.uscc import check_character, org_check_character

BAD_KINDS = ("bad_uscc", "missing_field", "bad_date", "bad_enum", "duplicate_doc_no",
             "bad_id_number", "dates_reversed", "other_body")

HEADER = ["行政相对人名称", "行政相对人类别", "行政相对人代码_1(统一社会信用代码)",
          "行政相对人代码_2(工商注册号)", "行政相对人代码_3(组织机构代码)",
          "行政相对人代码_4(税务登记号)", "行政相对人代码_5(事业单位证书号)",
          "行政相对人代码_6(社会组织登记证号)", "法定代表人", "法定代表人证件类型", "法定代表人证件号码",
          "证件类型", "证件号码", "行政处罚决定书文号", "违法行为类型", "违法事实", "处罚依据",
          "处罚类别", "处罚内容", "罚款金额（万元）", "没收违法所得、没收非法财物的金额（万元）",
          "暂扣或吊销证照名称及编号", "处罚决定日期", "处罚有效期", "公示截止期", "处罚机关",
          "处罚机关统一社会信用代码", "数据来源单位", "数据来源单位统一社会信用代码", "备注"]
_COL = {name: i for i, name in enumerate(HEADER)}

DISTRICTS = (("350203", "思明区"), ("350205", "海沧区"), ("350206", "湖里区"),
             ("350211", "集美区"), ("350212", "同安区"), ("350213", "翔安区"))
_BIRTH_REGIONS = ("350203", "350206", "350211", "350582", "350583", "350681", "360102",
                  "430104", "510107", "410105", "350128", "350322")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤康易乔赖文"  # noqa: E501
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志宏海波鑫宇浩然晨阳佳怡欣雨婷子涵梓轩一诺思远嘉豪俊杰文博雅琪淑珍春梅金凤德福永清世荣"  # noqa: E501
_TRADE = "鑫源恒盛泰丰汇通宏达瑞祥嘉禾华美晟博永信佳和兴隆安顺福润金诚天成海纳百川益民万家同创宝利康达盈泽凯悦君诚昌荣新航远景明德厚朴正道启航卓越星辰蓝海绿洲东方南方鹭岛筼筜鼓浪湖滨禾山"  # noqa: E501
_INDUSTRY = ("贸易", "商贸", "电子商务", "食品", "餐饮管理", "建筑工程", "装饰工程", "物流",
             "信息技术", "网络科技", "医药", "环保科技", "物业管理", "文化传媒", "教育咨询",
             "机械设备", "五金建材", "服装", "茶业", "水产", "汽车服务", "房地产经纪", "劳务",
             "广告", "健康管理", "生物科技", "新能源", "供应链管理", "酒店管理", "印刷")
_FORMS = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司", "分公司")
_SHOPS = ("便利店", "小吃店", "五金店", "服装店", "水果店", "理发店", "烟酒商行", "干洗店",
          "手机维修部", "面馆", "茶叶店", "药店", "早餐店", "洗车店")
_ROADS = ("湖滨南", "厦禾", "莲前", "嘉禾", "仙岳", "金尚", "吕岭", "环岛东", "文屏", "集美大道",
          "同集", "翔安南", "海沧大道", "枋湖", "江头", "前埔", "软件园二期观日", "火炬", "坂美")
_GOODS = ("预包装食品", "散装白酒", "儿童玩具", "电线电缆", "化妆品", "保健食品", "电动自行车",
          "燃气灶具", "口罩", "茶叶", "食用油", "冷冻水产品", "婴幼儿配方奶粉", "建筑钢材",
          "家用电器", "眼镜", "药品", "农药", "计量器具", "月饼")

# (违法行为类型, 违法事实 template, 处罚依据) — the facts vary per row through their fields.
_CASES = (
    ("销售不符合食品安全标准的食品",
     "经查，当事人于{day}在其位于{addr}的经营场所销售{goods}{qty}件，经抽样检验，{item}项目不符合"
     "食品安全国家标准，货值金额{value}元，违法所得{gain}元。",
     "《中华人民共和国食品安全法》第一百二十四条第一款"),
    ("虚假宣传",
     "当事人自{day}起通过其网店及{addr}门店宣传“{goods}”具有{claim}功效，无任何依据，"
     "共销售{qty}单，销售额{value}元。",
     "《中华人民共和国反不正当竞争法》第二十条第一款"),
    ("未按规定公示年度报告",
     "当事人未按照规定于{year}年6月30日前报送{prev}年度报告，经{addr}实地核查，通过登记的住所"
     "无法取得联系，责令限期{qty}日内改正，逾期未改正。",
     "《企业信息公示暂行条例》第十八条"),
    ("销售不合格产品",
     "{day}，执法人员在当事人{addr}仓库查获标称{brand}牌{goods}{qty}件，经检验{item}不合格，"
     "货值金额{value}元，当事人已销售{sold}件，违法所得{gain}元。",
     "《中华人民共和国产品质量法》第四十九条"),
    ("无照经营",
     "当事人自{day}起未经登记在{addr}从事{goods}经营活动，至案发时经营额{value}元，"
     "违法所得{gain}元。",
     "《无证无照经营查处办法》第十三条"),
    ("使用未经检定的计量器具",
     "{day}检查发现，当事人在{addr}经营场所使用的{qty}台电子计价秤未按规定申请周期检定，"
     "其中编号{serial}的计价秤示值误差超出最大允许误差。",
     "《中华人民共和国计量法》第二十六条"),
    ("价格违法",
     "当事人于{day}在{addr}销售{goods}时未明码标价，并在标价之外加价{gain}元出售，"
     "涉及交易{qty}笔，多收价款{value}元。",
     "《中华人民共和国价格法》第四十二条"),
    ("侵犯注册商标专用权",
     "{day}，执法人员在当事人位于{addr}的店铺查获标有“{brand}”注册商标的{goods}{qty}件，"
     "经商标权利人鉴定为侵权商品，货值{value}元。",
     "《中华人民共和国商标法》第六十条第二款"),
)
_ITEMS = ("菌落总数", "大肠菌群", "酸价", "过氧化值", "铅", "标签", "净含量", "阻燃性能",
          "导体电阻", "甲醛含量", "苯甲酸", "二氧化硫残留量")
_CLAIMS = ("降血压", "治疗失眠", "抗癌", "增强免疫力", "美白祛斑", "减肥瘦身", "提高记忆力")
_BRANDS = ("华力", "金象", "鹭洋", "海天", "永和", "明辉", "顺达", "宏图", "佳美", "天成")


@dataclass
class FileStats:
    """What a generated file holds (the benchmark prints it; the tests check it)."""

    rows: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    subjects: int = 0  # distinct subjects named by the file's rows
    new_subject_rows: int = 0  # rows naming a subject no earlier row named
    person_rows: int = 0
    business_rows: int = 0  # 个体工商户
    facts: set[int] = field(default_factory=set, repr=False)

    @property
    def bad_rows(self) -> int:
        return sum(self.bad.values())

    def as_dict(self) -> dict[str, object]:
        rows = max(self.rows, 1)
        return {"rows": self.rows, "bad_rows": self.bad_rows, "bad_kinds": dict(self.bad),
                "distinct_subjects": self.subjects,
                "new_subject_share": round(self.new_subject_rows / rows, 4),
                "natural_person_share": round(self.person_rows / rows, 4),
                "individual_business_share": round(self.business_rows / rows, 4),
                "distinct_facts_share": round(len(self.facts) / rows, 4)}


class _Subjects:
    """Distinct, valid subjects made on demand, and the skewed choice of repeat offenders."""

    def __init__(self, rng: random.Random, person_share: float) -> None:
        self.rng = rng
        self.person_share = person_share
        self.serial = 0
        self.names: set[str] = set()
        self.seen: list[list[str]] = []
        self.kinds: list[str] = []

    def _code(self, prefix: str, region: str) -> str:
        # serial × a number prime to 10⁸, mod 10⁸: distinct bodies that do not look sequential
        self.serial += 1
        body = f"{(self.serial * 7_919_993 + 104_729) % 100_000_000:08d}"
        first17 = prefix + region + body + org_check_character(body)
        return first17 + check_character(first17)

    def _person(self) -> tuple[str, str]:
        rng = self.rng
        name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
        self.serial += 1
        body = f"{rng.choice(_BIRTH_REGIONS)}{birth:%Y%m%d}{self.serial % 1000:03d}"
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
        return name, body + check

    def _unique(self, make: object) -> str:
        while True:
            name = make()  # type: ignore[operator]
            if name not in self.names:
                self.names.add(name)
                return str(name)

    def new(self) -> tuple[list[str], str]:
        rng = self.rng
        roll = rng.random()
        region, district = rng.choice(DISTRICTS)
        if roll < self.person_share:
            name, number = self._person()
            cells = [name, "自然人", "", "", "", "", "", "", "", "", "", "身份证", number]
            kind = "person"
        elif roll < self.person_share + 0.06:
            rep, rep_id = self._person()
            name = self._unique(lambda: f"{district}{rep[0]}记{rng.choice(_TRADE)}{rng.choice(_SHOPS)}")
            cells = [name, "个体工商户", self._code("92", region), "", "", "", "", "", rep, "身份证",
                     rep_id, "", ""]
            kind = "business"
        else:
            rep, rep_id = self._person()
            name = self._unique(lambda: "厦门" + "".join(rng.sample(_TRADE, rng.choice((2, 2, 3))))
                                + rng.choice(_INDUSTRY) + rng.choice(_FORMS))
            cells = [name, "法人及非法人组织", self._code("91", region), "", "", "", "", "", rep,
                     "身份证", rep_id, "", ""]
            kind = "organisation"
        self.seen.append(cells)
        self.kinds.append(kind)
        return cells, kind

    def repeat(self) -> tuple[list[str], str]:
        rng = self.rng
        n = len(self.seen)
        frequent = max(1, n // 100)
        i = int(rng.random() * frequent) if rng.random() < 0.5 else int(rng.random() * n)
        return self.seen[i], self.kinds[i]


def _money(rng: random.Random, lo: int, hi: int) -> int:
    return int(round(lo * (hi / lo) ** rng.random(), -1)) or lo


def _wan(yuan: int) -> str:
    return f"{yuan / 10_000:.4f}".rstrip("0").rstrip(".")


def _outcome(rng: random.Random, decided: date) -> tuple[list[str], date]:
    """违法行为类型 … 暂扣或吊销证照名称及编号 for one case, and its 处罚有效期."""
    kind, facts, basis = rng.choice(_CASES)
    value = _money(rng, 200, 900_000)
    gain = _money(rng, 10, max(20, value // 3))
    fine = _money(rng, 500, 2_000_000)
    district = rng.choice(DISTRICTS)[1]
    road = f"{rng.choice(_ROADS)}路{rng.randrange(1, 999)}号"
    text = facts.format(
        day=f"{decided - timedelta(days=rng.randrange(20, 400)):%Y年%m月%d日}",
        addr=f"{district}{road}{rng.randrange(1, 30)}0{rng.randrange(1, 9)}室",
        goods=rng.choice(_GOODS), qty=rng.randrange(2, 5000), item=rng.choice(_ITEMS),
        value=value, gain=gain, claim=rng.choice(_CLAIMS), brand=rng.choice(_BRANDS),
        sold=rng.randrange(1, 400), serial=f"XM{rng.randrange(10**7):07d}",
        year=decided.year, prev=decided.year - 1)
    serious = fine >= 1_000_000
    if serious and rng.random() < 0.3:
        categories = "罚款;吊销许可证件"
        licence = f"食品经营许可证 JY{rng.randrange(10**13):013d}"
        months = 36
    elif gain > 50 and rng.random() < 0.6:
        categories = "没收违法所得;罚款"
        licence = ""
        months = 36 if serious else 12
    else:
        categories = "警告;罚款" if fine < 5_000 else "罚款"
        licence = ""
        months = 3 if fine < 5_000 else (36 if serious else 12)
    content = (f"{'警告，' if '警告' in categories else ''}"
               f"{'没收违法所得' + str(gain) + '元，' if '没收' in categories else ''}"
               f"罚款{fine}元{'，吊销' + licence if licence else ''}"
               f"{'，责令' + str(rng.randrange(3, 31)) + '日内改正' if rng.random() < 0.4 else ''}")
    confiscated = _wan(gain) if "没收" in categories else ""
    until = decided + timedelta(days=round(months * 30.44))
    return [kind, text, basis, categories, content, _wan(fine), confiscated, licence], until


def _wrong_check(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


_USCC = _COL["行政相对人代码_1(统一社会信用代码)"]
_ID = _COL["证件号码"]


def _break(rng: random.Random, row: list[str], kind: str, last_doc: str, other_body: str) -> None:
    if kind == "bad_uscc" and row[_USCC]:
        row[_USCC] = _wrong_check(row[_USCC])
    elif kind == "bad_uscc":  # a person: the identity number's check digit wrong instead
        row[_ID] = _wrong_check(row[_ID])
    elif kind == "missing_field":
        row[_COL[rng.choice(("违法事实", "处罚依据", "处罚内容", "处罚决定日期"))]] = ""
    elif kind == "bad_date":
        row[_COL["处罚决定日期"]] = rng.choice(("2025-13-45", "二〇二五年三月", "2025/02/30", "2025-02-29"))
    elif kind == "bad_enum":
        row[_COL["处罚类别"]] = rng.choice(("罚没", "其他处罚措施X", "警示"))
    elif kind == "duplicate_doc_no":
        row[_COL["行政处罚决定书文号"]] = last_doc
    elif kind == "bad_id_number":
        if row[_ID]:
            row[_ID] = _wrong_check(row[_ID])
        else:  # an organisation: its code cut short
            row[_USCC] = row[_USCC][:15]
    elif kind == "dates_reversed":
        decided = date.fromisoformat(row[_COL["处罚决定日期"]])
        row[_COL["处罚有效期"]] = (decided - timedelta(days=rng.randrange(1, 300))).isoformat()
        row[_COL["公示截止期"]] = ""
    elif kind == "other_body":
        row[_COL["处罚机关"]] = other_body
        row[_COL["数据来源单位"]] = other_body


def write_real_penalty_file(path: Path, rows: int, *, department: str, department_uscc: str,
                            doc_prefix: str = "厦思市监罚", seed: int = 1,
                            new_share: float = 0.8, person_share: float = 0.2,
                            bad_ratio: float = 0.02,
                            other_body: str = "厦门市湖里区市场监督管理局") -> FileStats:
    """Write `rows` penalty rows of `department` to `path` (UTF-8 CSV with BOM, as Excel
    saves it); see the module docstring for the shape."""
    rng = random.Random(seed)
    people = _Subjects(rng, person_share)
    stats = FileStats()
    today = date(2026, 11, 20)
    first = today - timedelta(days=3 * 365)
    serial_by_year: Counter[int] = Counter()
    last_doc = ""
    with path.open("w", encoding="utf-8-sig", newline="", buffering=1 << 20) as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            if not people.seen or rng.random() < new_share:
                cells, kind = people.new()
                stats.new_subject_rows += 1
            else:
                cells, kind = people.repeat()
            stats.person_rows += kind == "person"
            stats.business_rows += kind == "business"
            decided = first + timedelta(days=rng.randrange((today - first).days - 10))
            serial_by_year[decided.year] += 1
            doc_no = f"{doc_prefix}〔{decided.year}〕{serial_by_year[decided.year]}号"
            outcome, until = _outcome(rng, decided)
            until_iso = until.isoformat()
            row = [*cells, doc_no, *outcome, decided.isoformat(), until_iso, until_iso,
                   department, department_uscc, department, department_uscc,
                   "" if rng.random() < 0.9 else f"案件编号 {doc_prefix}{i:07d}"]
            if rng.random() < bad_ratio:
                bad_kind = BAD_KINDS[stats.bad_rows % len(BAD_KINDS)]
                if bad_kind == "duplicate_doc_no" and not last_doc:
                    bad_kind = "missing_field"
                _break(rng, row, bad_kind, last_doc, other_body)
                stats.bad[bad_kind] += 1
            else:
                last_doc = doc_no
                stats.facts.add(hash(row[_COL["违法事实"]]))
            writer.writerow(row)
            stats.rows += 1
    stats.subjects = len(people.seen)
    return stats
