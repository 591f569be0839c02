"""The error codes of the public credit evaluation (`unknown_scorecard` and `unknown_grade`
are also raised by sampling, whose plans name a scorecard and its grades)."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class EvaluationError(ErrorCode):
    UNKNOWN_SCORECARD = ("unknown_scorecard", 404, "没有该评分卡",
                         "No scorecard has this name.")
    UNKNOWN_GRADE = "unknown_grade", 422, "评分卡没有该等级", "The scorecard has no such grade."
    NOT_EVALUATED = ("not_evaluated", 404, "该主体没有评价结果",
                     "The subject has no evaluation result.")
    NOT_PUBLIC = ("evaluation_not_public", 404, "评价等级不对外公开",
                  "Evaluation grades are not published.")
    NATURAL_PERSON = ("natural_person_not_evaluated", 422, "自然人不参与公共信用综合评价",
                      "Natural persons are never evaluated.")
    AS_OF_BEFORE_CURRENT = ("as_of_before_current", 422, "评价日早于当前评价结果的评价日",
                            "The evaluation day is earlier than that of the current results.")
    BAD_GROUP = ("bad_group", 422, "分组只能是行业或地区",
                 "Group by industry or district only.")
