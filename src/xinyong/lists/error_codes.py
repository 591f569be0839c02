"""The stable error codes of lists. Codes shared with other capabilities (illegal_transition,
concurrent_change, missing_field, too_long, invalid_uscc, unknown_subject, unknown_record)
are `CoreError`'s; `entry_not_found` is raised by repair too, which sits above lists and
imports it from here."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class ListsError(ErrorCode):
    # The kinds
    UNKNOWN_LIST_KIND = ("unknown_list_kind", 422, "没有该名单种类",
                         "No list kind has this code or name.")
    # A list that is not published (unknown, unusable or shared only) has no public page.
    # Until issue 22 this 404 answered `unknown_list_kind`, which a code now answers with 422.
    NO_PUBLIC_LIST = ("no_public_list", 404, "没有该公开的名单",
                      "No published list has this code or name.")
    LIST_KIND_WITHOUT_BASIS = ("list_kind_without_basis", 422, "该名单种类没有法律依据，不能使用",
                               "This list kind has no legal basis and cannot be used.")
    # The admission workflow
    UNKNOWN_PROPOSAL = ("unknown_proposal", 404, "没有该名单认定申请",
                        "No list proposal has this number.")
    RECORD_OTHER_SUBJECT = ("record_other_subject", 422, "该信用记录不属于该主体",
                            "The credit record belongs to another subject.")
    NOTICE_REQUIRED = ("notice_required", 422, "须先告知当事人，告知后方可认定",
                       "The subject must be notified before the listing can be decided.")
    DATE_ORDER = ("date_order", 422, "日期先后矛盾",
                  "The dates are in the wrong order.")
    ALREADY_OBJECTED = ("already_objected", 422, "已就该申请提出异议，不能重复提出",
                        "An objection to this proposal has already been made.")
    NO_WAITING_PERIOD = ("no_waiting_period", 422, "该名单种类不设异议期",
                         "This list kind has no objection period.")
    WAITING_PERIOD = ("waiting_period", 422, "异议期尚未届满，不能作出认定决定",
                      "The objection period has not ended yet; the listing cannot be decided.")
    WAITING_PERIOD_OVER = ("waiting_period_over", 422, "异议期已届满，不能再提出异议",
                           "The objection period is over.")
    NOT_THE_SUBJECT = ("not_the_subject", 403,
                       "只有被告知的信用主体本人（或信用办代为记录）可以对名单认定提出异议",
                       "Only the notified subject itself, or the credit office for it, may "
                       "object to a listing.")
    # Entries
    UNKNOWN_ENTRY = ("unknown_entry", 404, "没有该名单条目", "No list entry has this number.")
    ENTRY_NOT_FOUND = ("entry_not_found", 404, "没有该名单条目或名单信息",
                       "No list entry has this reference.")
    INVALID_ENTRY = ("invalid_entry", 422, "名单条目编号不正确（L+条目编号，或 R+名单信息记录编号）",
                     "The list entry reference is not valid; write L or R and a number.")
    ENTRY_NOT_ACTIVE = ("entry_not_active", 422, "该名单条目已不在名单上",
                        "The list entry is no longer on its list.")
