"""The refusals of scripts and expressions, in Chinese, with what to do: Python's syntax errors,
RestrictedPython's refusals and the load-time check's own reasons (the rest of a diagram's
refusals are in workflows/diagram_messages.py)."""

from __future__ import annotations

from workflows.diagram_messages import Translation, translate
from workflows.diagram_messages import translation as _t

# Python's own syntax errors in a script or expression (SyntaxError.msg).
SCRIPT_SYNTAX_MESSAGES: tuple[Translation, ...] = (
    _t(
        r"invalid character '(?P<ref>.)'",
        "有非法字符“{ref}”",
        "脚本中的标点要用英文半角符号（, ( ) : ' \"），不能用中文全角标点",
    ),
    _t(r"invalid non-printable character", "有不可见的非法字符", "请删除从其他文档复制来的不可见字符"),
    _t(
        r"unterminated (?:triple-quoted )?string literal|EOL while scanning",
        "字符串缺少结束引号",
        "请检查引号是否成对",
    ),
    _t(r"'(?P<ref>.)' was never closed", "括号“{ref}”没有闭合", "请补上对应的右括号"),
    _t(r"unmatched '(?P<ref>.)'", "多了一个“{ref}”", "请删除多余的括号"),
    _t(
        r"closing parenthesis '(?P<ref>.)' does not match",
        "括号不配对：“{ref}”前面的左括号不是同一种",
        "请检查括号",
    ),
    _t(r"too many nested parentheses", "括号嵌套过深", "请拆成几步计算，用中间变量保存部分结果"),
    _t(r"expected ':'", "缺少冒号“:”", "if、for 等语句的行末要有英文冒号"),
    _t(r"indent", "缩进不正确", "同一层的语句要对齐，if、for 之后的语句要缩进"),
    _t(r"Perhaps you forgot a comma", "可能缺少逗号", "列表、参数之间要用英文逗号分隔"),
    _t(
        r"decimal literal|invalid digit|leading zeros",
        "数字写法有误",
        "数字不能以 0 开头，数字与名称之间要有运算符",
    ),
    _t(r"cannot assign to|cannot delete", "不能给这个表达式赋值", "赋值号左边只能是变量名；比较相等请用 =="),
    _t(
        r"'(?P<ref>\w+)' outside",
        "“{ref}”用在了不允许的位置",
        "流程脚本不是函数，不能使用 return；break、continue 只能在循环中",
    ),
    _t(r"positional argument follows keyword argument", "参数顺序有误", "按名称传的参数要放在最后"),
    _t(r"f-string", "f 字符串写法有误", '请检查 f"…{{…}}…" 中的花括号'),
    _t(
        r"invalid syntax|unexpected EOF|expected",
        "写法不符合 Python 语法",
        "请检查这一行的括号、引号和运算符是否完整",
    ),
)

# RestrictedPython's refusals (after "Line N: ").
RESTRICTED_MESSAGES: tuple[Translation, ...] = (
    _t(
        r'"(?P<ref>[^"]*)" is an invalid (?:variable|attribute) name because it starts with "_"',
        "不能使用以下划线开头的名称 {ref}",
        "下划线开头的名称能访问解释器内部，出于安全原因禁止使用：请换一个名称",
    ),
    _t(r'ends with "__roles__"', "不能使用以 __roles__ 结尾的名称", "请换一个名称"),
    _t(
        r'"(?P<ref>[^"]*)" is a reserved name',
        "不能使用保留名称 {ref}",
        "print 等在流程脚本中不可用：请把结果写入变量",
    ),
    _t(r"(?:Exec|Eval) calls are not allowed", "禁止调用 exec 或 eval", "请直接写出要计算的表达式"),
    _t(
        r'"(?P<ref>[^"]*)" is a restricted name',
        "不能访问受限属性 {ref}",
        "这个属性能访问解释器内部，出于安全原因禁止使用",
    ),
    _t(
        r"Augmented assignment of (?:attributes|object items)",
        "不能对属性或下标使用 += 等复合赋值",
        '请写成 x["a"] = x["a"] + 1 的形式',
    ),
    _t(r"Unpacking in comprehensions", "推导式中不能使用解包", "请改用普通的 for 循环"),
    _t(r"imports are not allowed|import statements", "禁止 import", "流程脚本不能导入模块"),
    _t(r'keyword argument "metaclass"', "不允许定义元类", "流程脚本只能做简单计算"),
    _t(r"Assignment expressions", ":= 只能赋值给简单变量", "请改用普通赋值"),
    _t(
        r"(?P<ref>\w+) statements? (?:are|is) not",
        "不允许使用 {ref} 语句",
        "流程脚本只能做简单计算：请删除它",
    ),
)

# Reasons the load-time check of scripts gives itself: key → (reason, hint).
SCRIPT_REFUSALS: dict[str, tuple[str, str]] = {
    "too_long": (
        "脚本过长（{length} 个字符，上限 {limit} 个）",
        "请把计算拆到几个脚本任务中，或交给服务任务完成",
    ),
    "too_deep": (
        "表达式嵌套过深（超过 {limit} 层）",
        "请拆成几步计算，用中间变量保存部分结果",
    ),
    "forbidden_name": (
        "禁止使用 {ref}",
        "open、eval、getattr 等能读写文件或绕过安全限制，流程脚本中禁止使用",
    ),
    "underscore": (
        "禁止访问下划线名称 {ref}",
        "下划线开头的名称能访问解释器内部，出于安全原因禁止使用：请换一个名称",
    ),
    "import": (
        "禁止 import",
        "流程脚本不能导入模块：需要的函数（如 due_date）已直接提供，复杂处理请交给服务任务",
    ),
    "format": (
        "不支持 str.format / format_map",
        '请改用 f-string（如 f"{{名称}}：{{得分}}"）；日期请用 format_date(日期, "iso"/"chinese"/"compact")，'
        "日期计算用 add_days、add_work_days、days_between、to_date、today",
    ),
    "syntax": ("脚本第 {line} 行：{reason}", "{hint}"),
    "restricted": ("受限环境不允许这种写法", "流程脚本只能做简单计算"),
}


def script_refusal(key: str, **values: object) -> tuple[str, str]:
    reason, hint = SCRIPT_REFUSALS[key]
    return reason.format(**values), hint.format(**values)


def syntax_refusal(exc: SyntaxError) -> tuple[str, str]:
    """Python's syntax error in a script, in Chinese, with the script's line."""
    reason, hint = translate(SCRIPT_SYNTAX_MESSAGES, exc.msg or "") or script_refusal("restricted")
    return script_refusal("syntax", line=exc.lineno or 1, reason=reason, hint=hint)


def restricted_refusal(exc: SyntaxError) -> tuple[str, str]:
    """RestrictedPython's refusal (a SyntaxError carrying its list of "Line N: ..." errors)."""
    errors = exc.args[0] if exc.args and isinstance(exc.args[0], list | tuple) else [str(exc)]
    reasons: list[str] = []
    hints: list[str] = []
    for error in errors:
        line, _, text = str(error).partition(": ")
        reason, hint = translate(RESTRICTED_MESSAGES, text or line) or script_refusal("restricted")
        number = line.removeprefix("Line ").strip()
        reasons.append(f"脚本第 {number} 行：{reason}" if number.isdigit() else reason)
        if hint not in hints:
            hints.append(hint)
    return "；".join(reasons), "；".join(hints)
