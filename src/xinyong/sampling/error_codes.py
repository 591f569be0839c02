"""The error codes of random inspection plans (双随机一公开). A plan names a scorecard and its
grades: an unknown grade is evaluation's `unknown_grade` (`EvaluationError.UNKNOWN_GRADE`),
an unknown scorecard evaluation's `unknown_scorecard`."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class SamplingError(ErrorCode):
    # the plan and its state
    UNKNOWN_PLAN = "unknown_plan", 404, "没有该抽查计划", "No inspection plan has this number."
    PLAN_NOT_OPEN = ("plan_not_open", 422, "抽查计划已抽取或已撤销",
                     "The plan has been drawn or cancelled already.")
    PLAN_NOT_DRAWN = ("plan_not_drawn", 422, "抽查计划尚未抽取",
                      "The plan has not been drawn yet.")
    # a plan file or form
    BAD_PLAN_FILE = ("bad_plan_file", 422, "抽查计划文件无法读取",
                     "The plan file cannot be read (UTF-8 YAML mapping expected).")
    UNKNOWN_FIELD = ("unknown_field", 422, "抽查计划含有未知的字段",
                     "The plan has a field that is not known.")
    MISSING_NAME = ("missing_name", 422, "请填写计划名称",
                    "The plan needs a name (at most 200 characters).")
    MISSING_DEPARTMENT = ("missing_department", 422, "请填写制定计划的部门",
                          "The plan needs the department that makes it.")
    BAD_SCORECARD = ("bad_scorecard", 422, "评价模型代码不正确",
                     "The scorecard is not a scorecard code.")
    BAD_SCOPE = ("bad_scope", 422, "抽查范围不正确",
                 "The scope must list industry sections, district codes and subject kinds.")
    NATURAL_PERSON_REFUSED = ("natural_person_refused", 422, "自然人不按信用等级抽查",
                              "Natural persons are never sampled by credit grade.")
    BAD_RATIO = ("bad_ratio", 422, "基础抽查比例应大于 0、不超过 1",
                 "The base ratio must be more than 0 and at most 1 (or a percentage).")
    BAD_MULTIPLIER = ("bad_multiplier", 422, "等级倍数应为非负数",
                      "A grade's multiplier must be a number not below 0.")
    MISSING_MULTIPLIER = ("missing_multiplier", 422, "有等级没有抽查倍数",
                          "A grade has no multiplier.")
    BAD_INSPECTORS = ("bad_inspectors", 422, "检查人员库不正确",
                      "The inspectors must be a list of names or numbers.")
    DUPLICATE_INSPECTOR = ("duplicate_inspector", 422, "检查人员重复",
                           "An inspector is listed twice.")
    BAD_INSPECTORS_PER_SUBJECT = ("bad_inspectors_per_subject", 422, "每户检查人员数不正确",
                                  "The number of inspectors per subject is out of range.")
    POOL_TOO_SMALL = ("pool_too_small", 422, "检查人员库人数少于每户所需人数",
                      "The pool has fewer inspectors than each subject needs.")
    BAD_SEED = ("bad_seed", 422, "随机种子应为 1 到 128 个英文字母、数字或 _ . -",
                "The seed must be 1 to 128 letters, digits or _ . -")
    SEED_FIXED = ("seed_fixed", 422, "计划已公布随机种子，不能换用其他种子",
                  "The plan has published its seed; another cannot be used.")
    # the draw's published inputs
    BAD_POPULATION = ("bad_population", 422, "抽查对象名录应按统一社会信用代码升序排列且不重复",
                      "The population must be in ascending order of code, without repeats.")
    BAD_INPUTS = ("bad_inputs", 422, "公开的抽取输入不完整或格式不对",
                  "The published inputs of the draw are incomplete or malformed.")
    # results
    NOT_IN_SAMPLE = ("not_in_sample", 422, "该主体不是抽中的检查对象",
                     "The subject was not drawn by this plan.")
    FINDINGS_REQUIRED = ("findings_required", 422, "该检查结果须写明发现的问题",
                         "This outcome needs the findings.")
    RESULT_EXISTS = ("result_exists", 422, "已登记该主体的检查结果，不可修改",
                     "A result has been recorded for this subject already; it cannot change.")
    RECORD_REJECTED = ("record_rejected", 422, "检查结果未能形成信用记录",
                       "The result could not become a credit record (its batch was rejected).")
