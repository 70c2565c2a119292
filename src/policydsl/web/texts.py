"""The words of the pages a person reads, in Chinese and English (officials' pages are in Chinese only).

Written as a county office would write to the person concerned: polite, plain, in full sentences, full-width
punctuation in Chinese.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "lang_name": "中文", "other_lang": "en", "other_lang_name": "English",
        "site": "决定查询", "site_long": "个人决定查询与申诉",
        "lookup_title": "查询本人决定",
        "lookup_intro": "请输入决定通知书上的批次号、您的编号和查询码。查询码只用于查看您本人的决定，请妥善保管，不要告诉他人。",
        "batch": "批次号", "record": "编号", "code": "查询码", "code_hint": "12 位字母和数字，例如 K3M9-Q2TX-7HBD",
        "submit_lookup": "查询",
        "lookup_failed": "批次号、编号或查询码不正确，请核对决定通知书后重新输入。",
        "rate_limited": "尝试次数过多，为保护您的信息，请 {minutes} 分钟后再试。如遗失查询码，请与决定机关联系。",
        "decision_title": "决定结果",
        "decided_by": "决定机关", "decided_on": "决定日期", "as_of": "评估日期", "policy": "依据政策",
        "conclusion": "结论", "explanation": "详细说明",
        "explanation_hint": "（每项结果的理由、所用参数及其依据，点击展开）",
        "letter": "下载决定通知书", "logout": "退出",
        "objection_title": "申诉与复核",
        "objection_intro": "如您对本决定有异议，可以在此提出申诉或申请复核。请写明理由，必要时留下联系方式。提交后，工作人员会在此页面答复。",
        "kind": "类型", "appeal": "申诉", "review": "复核", "reason": "理由", "contact": "联系方式（选填）",
        "submit_objection": "提交",
        "objection_filed": "您的{kind}已于 {time} 收到，编号 {uid}。",
        "your_objections": "您提出的申诉与复核", "filed_at": "提交时间", "status": "处理状态", "answer": "答复",
        "status_received": "已收到，待处理", "status_in_review": "正在审核", "status_upheld": "维持原决定",
        "status_changed": "已更正决定", "status_rejected": "不予受理",
        "no_objections": "您尚未提出申诉或复核。",
        "error_title": "出错了", "unavailable": "服务暂时不可用，请稍后再试。您的数据不会因此丢失。",
        "not_found": "没有找到该页面。", "forbidden": "请先输入批次号、编号和查询码。",
        "csrf": "页面已过期，请返回后重新提交。", "too_large": "上传的文件过大。", "server_error": "处理请求时出错，请稍后再试。",
        "back": "返回首页", "session_expired": "为保护您的信息，查询已超时，请重新输入查询码。",
        "letter_title": "决定通知书", "letter_dear": "{name}：",
        "letter_body": "根据{policy}的有关规定，按照截至{as_of}的情况，现将对您的评定结果通知如下：",
        "letter_online": "完整的决定说明（每项结果的理由、所用参数及其依据）可在网上查阅：",
        "letter_code": "您的查询码", "letter_code_note": "查询时请输入批次号 {batch}、编号 {record} 和上面的查询码。查询码仅限本人使用。",
        "letter_recourse": "如对本决定有异议，可登录上述网址提出申诉或申请复核，也可向决定机关书面提出。",
        "letter_seal": "（盖章）", "letter_batch": "批次号", "office_default": "决定机关",
        "error_record": "您的记录未能计算出结果：{error}。请与决定机关联系。",
        "official_forbidden": "您的账号没有此项操作的权限。如需开通，请联系系统管理员。", "official_login": "请先登录。",
    },
    "en": {
        "lang_name": "English", "other_lang": "zh", "other_lang_name": "中文",
        "site": "Your decision", "site_long": "Your decision and objections",
        "lookup_title": "Look up your decision",
        "lookup_intro": "Enter the batch number, your ID and the access code printed on your decision letter. "
                        "The code opens only your own decision; keep it to yourself.",
        "batch": "Batch number", "record": "ID", "code": "Access code",
        "code_hint": "12 letters and digits, e.g. K3M9-Q2TX-7HBD", "submit_lookup": "Look up",
        "lookup_failed": "The batch number, ID or access code is not right. Please check your decision letter "
                         "and try again.",
        "rate_limited": "Too many attempts. To protect your information, please try again in {minutes} minutes. "
                        "If you have lost your code, contact the deciding office.",
        "decision_title": "Your decision",
        "decided_by": "Deciding office", "decided_on": "Date of decision", "as_of": "Evaluated as of",
        "policy": "Policy", "conclusion": "Conclusion", "explanation": "Full explanation",
        "explanation_hint": "(the reasons for each result, the figures used and their sources; select to open)",
        "letter": "Download the decision letter", "logout": "Sign out",
        "objection_title": "Appeal or review",
        "objection_intro": "If you disagree with this decision, you can appeal or ask for a review here. Please "
                           "give your reasons and, if you wish, how to reach you. The answer will appear on this page.",
        "kind": "Kind", "appeal": "Appeal", "review": "Review", "reason": "Your reasons",
        "contact": "How to reach you (optional)", "submit_objection": "Submit",
        "objection_filed": "Your {kind} was received on {time}, reference {uid}.",
        "your_objections": "Your appeals and reviews", "filed_at": "Filed", "status": "Status", "answer": "Answer",
        "status_received": "Received, not yet handled", "status_in_review": "Under review",
        "status_upheld": "Decision upheld", "status_changed": "Decision corrected",
        "status_rejected": "Not admitted", "no_objections": "You have not filed an appeal or review.",
        "error_title": "Something went wrong",
        "unavailable": "The service is temporarily unavailable. Please try again later; no data is lost.",
        "not_found": "There is no such page.", "forbidden": "Please enter your batch number, ID and access code first.",
        "csrf": "This page has expired. Please go back and submit it again.", "too_large": "The file is too large.",
        "server_error": "Your request could not be handled. Please try again later.", "back": "Back to the start",
        "session_expired": "To protect your information, your session has ended. Please enter your code again.",
        "letter_title": "Decision letter", "letter_dear": "Dear {name},",
        "letter_body": "Under the rules of “{policy}”, as they stood on {as_of}, the following has been decided for you:",
        "letter_online": "The full explanation (the reasons for each result, the figures used and their sources) "
                         "is online at:",
        "letter_code": "Your access code",
        "letter_code_note": "Enter batch number {batch}, ID {record} and the code above. The code is for you alone.",
        "letter_recourse": "If you disagree with this decision, you can appeal or ask for a review at the address "
                           "above, or in writing to the deciding office.",
        "letter_seal": "(seal)", "letter_batch": "Batch number", "office_default": "The deciding office",
        "error_record": "No result could be computed for your record: {error}. Please contact the deciding office.",
        "official_forbidden": "Your account may not do this. Ask the administrator.", "official_login": "Please sign in.",
    },
}

KIND_WORDS = {"zh": {"appeal": "申诉", "review": "复核申请"}, "en": {"appeal": "appeal", "review": "request for review"}}
