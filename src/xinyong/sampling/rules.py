"""Random inspection plans (双随机一公开) as pure rules: the defaults in `data/sampling.yaml`, a
plan checked field by field, the ratio of each grade stratum, and the draw itself — which
subjects are inspected and by whom — as a function of the published inputs alone. No I/O
beyond reading the files handed in.

The draw (docs/sampling.md has the same in a standalone snippet anyone can run):

1. The population is a list of (USCC, grade or None) sorted by USCC, each code once.
2. Each subject's key is SHA-256 of the UTF-8 text `seed|uscc`, as lowercase hex.
3. A stratum is the subjects of one grade (ungraded subjects form the stratum `ungraded`).
   Its ratio r is min(cap, base ratio × multiplier), in exact decimals. It inspects
   floor(N × r) of its N subjects, plus one more when the seed's uniform number for the
   stratum, u = int(SHA-256 of `seed|#quota|stratum`, 16) / 2^256, is below the fractional
   part of N × r (stochastic rounding: the expected count is N × r, so a stratum of 4 at 10 %
   is inspected in 40 % of draws instead of never — 不免抽). Those inspected are the ones with
   the smallest keys (ties — which SHA-256 makes practically impossible — by USCC).
4. Inspectors: the sampled subjects are taken in USCC order; for each, every inspector of the
   pool is ranked by (inspections assigned so far, SHA-256 of `seed|uscc|inspector`, name) and
   the first k are assigned. Workloads therefore never differ by more than one inspection.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import orjson

from xinyong.core.errors import InvalidInput
from xinyong.core.ruledata import Where, load_merged, mapping, positive, text
from xinyong.evaluation.error_codes import EvaluationError
from xinyong.sampling.error_codes import SamplingError

FILE = "sampling.yaml"
WHAT = "双随机抽查规则文件"
UNGRADED = "ungraded"
KIND_NAMES = {"organisation": "法人和非法人组织", "individual_business": "个体工商户",
              "natural_person": "自然人"}
CONFIG_KEYS = {"basis", "multipliers", "ungraded_multiplier", "cap", "subject_kinds",
               "max_inspectors_per_subject", "max_pool", "outcomes"}
PLAN_KEYS = {"name", "department", "scorecard", "scope", "base_ratio", "multipliers",
             "ungraded_multiplier", "inspectors", "inspectors_per_subject", "seed"}
SCOPE_KEYS = {"industries", "districts", "kinds"}
SEED = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
SCORECARD = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
INDUSTRY = re.compile(r"^[A-Z0-9]{1,8}$")
DISTRICT = re.compile(r"^\d{6}$")
NAME_LIMIT = 200
INSPECTOR_LIMIT = 100
DEFAULT_SCORECARD = "public"
ALGORITHM = "xinyong-sampling-2"
# The seed's uniform number for a stratum's rounding is a SHA-256 read as an integer over 2^256.
HASH_SPACE = 2 ** 256


# --- the rules file -------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    code: str
    name: str
    findings_required: bool


@dataclass(frozen=True)
class Config:
    """The defaults and limits every plan is checked against."""

    basis: str
    multipliers: dict[str, Decimal]
    ungraded_multiplier: Decimal
    cap: Decimal
    subject_kinds: tuple[str, ...]
    max_inspectors_per_subject: int
    max_pool: int
    outcomes: dict[str, Outcome]


def _decimal(value: Any) -> Decimal | None:
    """A decimal from a YAML/JSON number or text ("0.05", "5%"); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    raw = value.strip()
    percent = raw.endswith(("%", "％"))
    try:
        number = Decimal(raw[:-1].strip() if percent else raw)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return number / 100 if percent else number


def load_config(paths: Sequence[Path]) -> Config:
    """The shipped `sampling.yaml` with the locality's merged over it, checked completely: a
    bad value is a `RuleDataError` naming the file, the entry and the reason."""
    raw, sources = load_merged(paths, WHAT)
    where = Where(WHAT, sources)
    unknown = set(raw) - CONFIG_KEYS
    if unknown:
        raise where.fail("、".join(sorted(map(str, unknown))), "未知的键")
    multipliers: dict[str, Decimal] = {}
    for grade, value in mapping(raw.get("multipliers"), where, "multipliers").items():
        number = _decimal(value)
        if number is None or number < 0:
            raise where.fail(f"multipliers.{grade}", f"应为非负数，而不是 {value!r}")
        multipliers[str(grade)] = number
    if not multipliers:
        raise where.fail("multipliers", "至少应为一个等级设定倍数")
    ungraded = _decimal(raw.get("ungraded_multiplier", 1))
    if ungraded is None or ungraded < 0:
        raise where.fail("ungraded_multiplier", f"应为非负数，而不是 {raw.get('ungraded_multiplier')!r}")
    cap = _decimal(raw.get("cap", 1))
    if cap is None or not 0 < cap <= 1:
        raise where.fail("cap", f"应为大于 0、不超过 1（100%）的比例，而不是 {raw.get('cap')!r}")
    kinds = raw.get("subject_kinds")
    if not isinstance(kinds, list) or not kinds:
        raise where.fail("subject_kinds", "应为主体类别的列表")
    for kind in kinds:
        if kind == "natural_person":
            raise where.fail("subject_kinds", "自然人不按等级抽查（不对自然人评价、分级）")
        if kind not in KIND_NAMES:
            raise where.fail("subject_kinds",
                             f"未知的主体类别 {kind!r}（可用：organisation、individual_business）")
    outcomes: dict[str, Outcome] = {}
    for code, body in mapping(raw.get("outcomes"), where, "outcomes").items():
        entry = f"outcomes.{code}"
        if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", code):
            raise where.fail(entry, "代码应为小写英文字母、数字和下划线")
        body = mapping(body, where, entry)
        extra = set(body) - {"name", "findings_required"}
        if extra:
            raise where.fail(entry, f"未知的键 {'、'.join(sorted(map(str, extra)))}")
        required = body.get("findings_required", False)
        if not isinstance(required, bool):
            raise where.fail(f"{entry}.findings_required", "应为 true 或 false")
        outcomes[code] = Outcome(code, text(body.get("name"), where, f"{entry}.name"), required)
    if not outcomes:
        raise where.fail("outcomes", "至少应有一种检查结果")
    return Config(
        basis=text(raw.get("basis"), where, "basis"), multipliers=multipliers,
        ungraded_multiplier=ungraded, cap=cap, subject_kinds=tuple(kinds),
        max_inspectors_per_subject=positive(raw.get("max_inspectors_per_subject"), where,
                                            "max_inspectors_per_subject"),
        max_pool=positive(raw.get("max_pool"), where, "max_pool"), outcomes=outcomes)


# --- a plan ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """A plan's parameters, checked. `multipliers` covers every grade of the scorecard;
    `seed` is None until one is generated at the draw."""

    name: str
    department: str
    scorecard: str
    industries: tuple[str, ...]
    districts: tuple[str, ...]
    kinds: tuple[str, ...]
    base_ratio: Decimal
    multipliers: dict[str, Decimal]
    ungraded_multiplier: Decimal
    cap: Decimal
    inspectors: tuple[str, ...]
    inspectors_per_subject: int
    seed: str | None

    def ratios(self) -> dict[str, Decimal]:
        """Each stratum's inspection ratio: min(cap, base × multiplier)."""
        out = {g: min(self.cap, self.base_ratio * m) for g, m in self.multipliers.items()}
        out[UNGRADED] = min(self.cap, self.base_ratio * self.ungraded_multiplier)
        return out

    def parameters(self) -> dict[str, Any]:
        """The plan as published (decimals as text, so nothing is lost to floating point)."""
        return {
            "name": self.name, "department": self.department, "scorecard": self.scorecard,
            "scope": {"industries": list(self.industries), "districts": list(self.districts),
                      "kinds": list(self.kinds)},
            "base_ratio": str(self.base_ratio),
            "multipliers": {g: str(m) for g, m in self.multipliers.items()},
            "ungraded_multiplier": str(self.ungraded_multiplier), "cap": str(self.cap),
            "inspectors": list(self.inspectors), "inspectors_per_subject": self.inspectors_per_subject,
        }


def _plan(message: str) -> str:
    """A refusal's message, naming the plan as what is refused."""
    return f"抽查计划：{message}"


def _codes(value: Any, field: str, pattern: re.Pattern[str], hint: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = re.split(r"[\s,，、;；]+", value.strip()) if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise InvalidInput(_plan(f"{field} 应为列表"), code=SamplingError.BAD_SCOPE)
    out: list[str] = []
    for item in items:
        code = str(item).strip().upper() if item is not None else ""
        if not code:
            continue
        if not pattern.fullmatch(code):
            raise InvalidInput(_plan(f"{field} 中的“{str(item)[:40]}”不是{hint}"),
                               code=SamplingError.BAD_SCOPE)
        if code not in out:
            out.append(code)
    return tuple(out)


def _ratio(value: Any, field: str) -> Decimal:
    """A ratio above 0 and at most 1 (written as a decimal or a percentage)."""
    number = _decimal(value)
    if number is None or number <= 0 or number > 1:
        raise InvalidInput(_plan(f"{field} 应为大于 0、不超过 1（可写作百分数，如 5%），而不是 {value!r}"),
                           code=SamplingError.BAD_RATIO)
    return number


def _multiplier(value: Any, field: str) -> Decimal:
    """A grade's multiplier: a number not below 0."""
    number = _decimal(value)
    if number is None or number < 0:
        raise InvalidInput(_plan(f"{field} 应为非负数，而不是 {value!r}"), code=SamplingError.BAD_MULTIPLIER)
    return number


def _text_problem(value: Any, field: str, label: str, limit: int) -> str | None:
    """Why a required text field is refused (missing, too long), or None."""
    if not isinstance(value, str) or not value.strip():
        return f"请填写{label}（{field}）"
    if len(value.strip()) > limit:
        return f"{label}不能超过{limit}个字符"
    return None


def parse_plan(raw: Mapping[str, Any], config: Config, grades: Sequence[str]) -> Plan:
    """A plan from a plan file or a form, checked against the defaults in `config` and the
    grades of its scorecard (`grades`, best first). Every refusal is an `InvalidInput` naming
    the field and the reason."""
    unknown = set(raw) - PLAN_KEYS
    if unknown:
        raise InvalidInput(_plan(f"未知的字段 {'、'.join(sorted(map(str, unknown)))}"
                                 f"（可用：{'、'.join(sorted(PLAN_KEYS))}）"),
                           code=SamplingError.UNKNOWN_FIELD)
    problem = _text_problem(raw.get("name"), "name", "计划名称", NAME_LIMIT)
    if problem is not None:
        raise InvalidInput(_plan(problem), code=SamplingError.MISSING_NAME)
    problem = _text_problem(raw.get("department"), "department", "制定计划的部门", NAME_LIMIT)
    if problem is not None:
        raise InvalidInput(_plan(problem), code=SamplingError.MISSING_DEPARTMENT)
    name, department = str(raw["name"]).strip(), str(raw["department"]).strip()
    scorecard = raw.get("scorecard") or DEFAULT_SCORECARD
    if not isinstance(scorecard, str) or not SCORECARD.fullmatch(scorecard):
        raise InvalidInput(_plan(f"评价模型（scorecard）应为模型代码，而不是 {scorecard!r}"),
                           code=SamplingError.BAD_SCORECARD)
    scope = raw.get("scope") or {}
    if not isinstance(scope, Mapping):
        raise InvalidInput(_plan("范围（scope）应为映射：industries、districts、kinds"),
                           code=SamplingError.BAD_SCOPE)
    extra = set(scope) - SCOPE_KEYS
    if extra:
        raise InvalidInput(_plan(f"范围（scope）中未知的字段 {'、'.join(sorted(map(str, extra)))}"),
                           code=SamplingError.BAD_SCOPE)
    industries = _codes(scope.get("industries"), "行业（scope.industries）", INDUSTRY,
                        "行业门类代码（如 E、F）")
    districts = _codes(scope.get("districts"), "区域（scope.districts）", DISTRICT,
                       "6位行政区划代码")
    kinds = _kinds(scope.get("kinds"), config)
    base = _ratio(raw.get("base_ratio"), "基础抽查比例（base_ratio）")
    given = raw.get("multipliers") or {}
    if not isinstance(given, Mapping):
        raise InvalidInput(_plan("各等级倍数（multipliers）应为映射，如 {A: 0.5, D: 4}"),
                           code=SamplingError.BAD_MULTIPLIER)
    strangers = [str(g) for g in given if g not in grades]
    if strangers:
        raise InvalidInput(_plan(f"评价模型 {scorecard} 没有等级 {'、'.join(strangers)}"
                                 f"（等级：{'、'.join(grades)}）"), code=EvaluationError.UNKNOWN_GRADE)
    multipliers: dict[str, Decimal] = {}
    for grade in grades:
        if grade in given:
            multipliers[grade] = _multiplier(given[grade], f"等级 {grade} 的倍数")
        elif grade in config.multipliers:
            multipliers[grade] = config.multipliers[grade]
        else:
            raise InvalidInput(_plan(f"等级 {grade} 没有默认倍数，请在 multipliers 中设定"),
                               code=SamplingError.MISSING_MULTIPLIER)
    ungraded = config.ungraded_multiplier if raw.get("ungraded_multiplier") is None else _multiplier(
        raw.get("ungraded_multiplier"), "未评级主体的倍数（ungraded_multiplier）")
    inspectors = _inspectors(raw.get("inspectors"), config)
    per = raw.get("inspectors_per_subject", 2)
    if isinstance(per, str) and per.strip().isdigit():
        per = int(per.strip())
    if isinstance(per, bool) or not isinstance(per, int) or not 1 <= per <= config.max_inspectors_per_subject:
        raise InvalidInput(_plan(f"每户检查人员数（inspectors_per_subject）应为 1 到 "
                                 f"{config.max_inspectors_per_subject} 的整数，而不是 {per!r}"),
                           code=SamplingError.BAD_INSPECTORS_PER_SUBJECT)
    if per > len(inspectors):
        raise InvalidInput(_plan(f"每户需 {per} 名检查人员，检查人员库只有 {len(inspectors)} 人"),
                           code=SamplingError.POOL_TOO_SMALL)
    seed = raw.get("seed")
    if seed is not None and seed != "":
        seed = str(seed).strip()
        if not SEED.fullmatch(seed):
            raise InvalidInput(_plan("随机种子（seed）应为 1 到 128 个英文字母、数字或 _ . -"),
                               code=SamplingError.BAD_SEED)
    else:
        seed = None
    return Plan(name, department, scorecard, industries, districts, kinds, base, multipliers,
                ungraded, config.cap, inspectors, per, seed)


def _kinds(value: Any, config: Config) -> tuple[str, ...]:
    if value is None or value == "" or value == []:
        return config.subject_kinds
    items = re.split(r"[\s,，、;；]+", value.strip()) if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise InvalidInput(_plan("主体类别（scope.kinds）应为列表"), code=SamplingError.BAD_SCOPE)
    out: list[str] = []
    for item in items:
        kind = str(item).strip()
        if kind in ("natural_person", KIND_NAMES["natural_person"]):
            raise InvalidInput(_plan("自然人不按信用等级抽查（平台不对自然人评价、分级）"),
                               code=SamplingError.NATURAL_PERSON_REFUSED)
        code = next((k for k, n in KIND_NAMES.items() if kind in (k, n)), None)
        if code is None or code not in config.subject_kinds:
            raise InvalidInput(_plan(f"主体类别（scope.kinds）应为 {'、'.join(config.subject_kinds)}，"
                                     f"而不是 {kind!r}"), code=SamplingError.BAD_SCOPE)
        if code not in out:
            out.append(code)
    return tuple(out)


def _inspectors(value: Any, config: Config) -> tuple[str, ...]:
    items = [line for line in re.split(r"[\r\n,，、;；]+", value)] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise InvalidInput(_plan("检查人员库（inspectors）应为执法检查人员姓名或编号的列表"),
                           code=SamplingError.BAD_INSPECTORS)
    out: list[str] = []
    for item in items:
        name = str(item).strip() if isinstance(item, str | int) else ""
        if not name:
            if isinstance(item, str):
                continue
            raise InvalidInput(_plan(f"检查人员库中的 {item!r} 不是姓名或编号"),
                               code=SamplingError.BAD_INSPECTORS)
        if len(name) > INSPECTOR_LIMIT or "|" in name:
            raise InvalidInput(_plan(f"检查人员“{name[:40]}”：不能超过{INSPECTOR_LIMIT}个字符，不能含“|”"),
                               code=SamplingError.BAD_INSPECTORS)
        if name in out:
            raise InvalidInput(_plan(f"检查人员“{name}”重复"), code=SamplingError.DUPLICATE_INSPECTOR)
        out.append(name)
    if not out:
        raise InvalidInput(_plan("请填写检查人员库（inspectors）"), code=SamplingError.BAD_INSPECTORS)
    if len(out) > config.max_pool:
        raise InvalidInput(_plan(f"检查人员库至多 {config.max_pool} 人"), code=SamplingError.BAD_INSPECTORS)
    return tuple(out)


# --- the draw -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Drawn:
    """One sampled subject and the inspectors assigned to it."""

    uscc: str
    grade: str | None
    inspectors: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"subject": self.uscc, "grade": self.grade, "inspectors": list(self.inspectors)}


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def stratum(grade: str | None) -> str:
    return UNGRADED if grade is None else grade


def quota(size: int, ratio: Decimal, seed: str, name: str) -> int:
    """floor(size × ratio), plus one when the stratum's seed-derived uniform number is below the
    fractional part (step 3): stochastic rounding, so the expected count is size × ratio (up to
    2^-256). Exact arithmetic throughout; '#' is in no seed and no USCC, so the text of this
    number never equals a subject's key text."""
    exact = Fraction(size) * Fraction(ratio)
    whole = exact.numerator // exact.denominator
    u = int(_sha(f"{seed}|#quota|{name}"), 16)
    return whole + (1 if u < (exact - whole) * HASH_SPACE else 0)


def draw(population: Sequence[tuple[str, str | None]], seed: str, ratios: Mapping[str, Decimal],
         inspectors: Sequence[str], per_subject: int) -> list[Drawn]:
    """The sample and its inspectors (module docstring, steps 1–4), in USCC order."""
    if not SEED.fullmatch(seed):
        raise InvalidInput("随机种子应为 1 到 128 个英文字母、数字或 _ . -", code=SamplingError.BAD_SEED)
    if per_subject > len(inspectors):
        raise InvalidInput(f"每户需 {per_subject} 名检查人员，检查人员库只有 {len(inspectors)} 人",
                           code=SamplingError.POOL_TOO_SMALL)
    strata: dict[str, list[tuple[str, str]]] = {}
    previous = ""
    for uscc, grade in population:
        if uscc <= previous:
            raise InvalidInput("抽查对象名录应按统一社会信用代码升序排列且不重复",
                               code=SamplingError.BAD_POPULATION)
        previous = uscc
        strata.setdefault(stratum(grade), []).append((_sha(f"{seed}|{uscc}"), uscc))
    missing = sorted(set(strata) - set(ratios))
    if missing:
        raise InvalidInput(f"抽查计划没有等级 {'、'.join(missing)} 的抽查比例",
                           code=SamplingError.MISSING_MULTIPLIER)
    chosen: set[str] = set()
    for name, members in strata.items():
        members.sort()
        chosen.update(uscc for _, uscc in members[:quota(len(members), ratios[name], seed, name)])
    load = dict.fromkeys(inspectors, 0)
    out: list[Drawn] = []
    for uscc, grade in population:
        if uscc not in chosen:
            continue
        ranked = sorted(inspectors, key=lambda i: (load[i], _sha(f"{seed}|{uscc}|{i}"), i))
        assigned = tuple(ranked[:per_subject])
        for i in assigned:
            load[i] += 1
        out.append(Drawn(uscc, grade, assigned))
    return out


def population_digest(population: Sequence[tuple[str, str | None]]) -> str:
    """SHA-256 of the population as published: one line `uscc,grade` per subject in order
    (grade empty when ungraded), each ending in a newline, UTF-8."""
    h = hashlib.sha256()
    for uscc, grade in population:
        h.update(f"{uscc},{grade or ''}\n".encode())
    return h.hexdigest()


def sample_digest(sample: Sequence[Drawn]) -> str:
    """SHA-256 of the sample as published (its JSON, keys sorted), to compare draws by."""
    return hashlib.sha256(orjson.dumps([d.as_dict() for d in sample],
                                       option=orjson.OPT_SORT_KEYS)).hexdigest()


def stratum_counts(population: Sequence[tuple[str, str | None]],
                   sample: Sequence[Drawn]) -> dict[str, dict[str, int]]:
    """Per stratum: subjects in scope and subjects drawn."""
    out: dict[str, dict[str, int]] = {}
    for _, grade in population:
        out.setdefault(stratum(grade), {"population": 0, "sampled": 0})["population"] += 1
    for d in sample:
        out[stratum(d.grade)]["sampled"] += 1
    return out


def inputs_ratios(raw: Mapping[str, Any]) -> dict[str, Decimal]:
    """The ratios of published inputs, back to decimals."""
    out: dict[str, Decimal] = {}
    for grade, value in raw.items():
        number = _decimal(value)
        if number is None:
            raise InvalidInput(f"公开的抽查比例 {grade}={value!r} 不是数", code=SamplingError.BAD_INPUTS)
        out[str(grade)] = number
    return out


def plan_ratios(parameters: Mapping[str, Any]) -> dict[str, Decimal]:
    """Each stratum's ratio recomputed from a plan's published parameters (`Plan.parameters`):
    what the ratios of its draw must be. Broken parameters are `InvalidInput` `bad_inputs`."""
    try:
        cap, base = Decimal(str(parameters["cap"])), Decimal(str(parameters["base_ratio"]))
        out = {str(g): min(cap, base * Decimal(str(m))) for g, m in parameters["multipliers"].items()}
        out[UNGRADED] = min(cap, base * Decimal(str(parameters["ungraded_multiplier"])))
    except (KeyError, TypeError, AttributeError, InvalidOperation) as exc:
        raise InvalidInput(f"公开的计划参数不完整或格式不对：{exc!r}", code=SamplingError.BAD_INPUTS) from exc
    return out


def parameters_digest(parameters: Mapping[str, Any]) -> str:
    """SHA-256 of a plan's published parameters as JSON with keys sorted (orjson's compact form),
    recorded in the audit event of the draw so that changing them afterwards shows."""
    return hashlib.sha256(orjson.dumps(dict(parameters), option=orjson.OPT_SORT_KEYS)).hexdigest()
