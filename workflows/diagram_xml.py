"""Read an uploaded diagram's bytes into an XML tree, safely, and check it against BPMN 2.0.

The parser is configured here rather than left to lxml's defaults (older lxml resolved
external entities, which put a file's contents into a script): no DTD, no entities, no network,
libxml2's own size and depth limits. Size and element count are bounded before parsing:
libxml2 has no size limit, and a valid 50 MB diagram took 2–5 s and up to 1 GB to refuse.
"""

from __future__ import annotations

import codecs
import re
import threading
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from workflows.diagram_messages import app_message, translate
from workflows.diagram_problems import (
    DiagramProblem,
    ElementIndex,
    ProcessDefinitionError,
    local_name,
)
from workflows.xml_messages import SCHEMA_ID_ERROR, SCHEMA_MESSAGES, XML_SYNTAX_MESSAGES

MAX_DIAGRAM_BYTES = 5 * 1024 * 1024  # the shipped diagrams are 8–19 KB
# The shipped diagrams have 100–250 elements (about ten per task, with the drawing). SpiffWorkflow's
# indexing of a process grows faster than linearly: 20,000 elements load in about 0.4 s,
# 90,000 in about 5 s.
MAX_DIAGRAM_ELEMENTS = 20_000

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DECLARED_ENCODING = re.compile(rb"\A\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z][\w.:-]{0,40})[\"']")
_ROOT_START = re.compile(rb"<[A-Za-z_]")
# lxml validators keep their error log on the object: one validation at a time.
_SCHEMA_LOCK = threading.Lock()
_NCNAME = re.compile(r"[^\W\d][\w.-]*\Z")


def _refusal(key: str, line: int | None = None, **values: object) -> ProcessDefinitionError:
    message, hint = app_message(key, line=line, **values)
    return ProcessDefinitionError(DiagramProblem(message, hint, line=line))


def read_diagram(
    xml: bytes, max_bytes: int = MAX_DIAGRAM_BYTES, max_elements: int = MAX_DIAGRAM_ELEMENTS
) -> etree._Element:
    """The document's root element; ProcessDefinitionError if it is too big, unsafe or not XML."""
    if len(xml) > max_bytes:
        raise _refusal("too_large", size=f"{len(xml) / 1048576:.1f}", limit=f"{max_bytes / 1048576:g}")
    wide = next((codec for bom, codec in _BOMS if xml.startswith(bom)), None)
    if wide is None:
        _check_encoding(xml.removeprefix(codecs.BOM_UTF8))
    count = _element_estimate(xml, wide)
    if count > max_elements:
        raise _refusal("too_many_elements", count=count, limit=max_elements)
    root_start = _ROOT_START.search(xml)
    if b"<!DOCTYPE" in xml[: root_start.start() if root_start else len(xml)]:
        raise _refusal("doctype")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        # The parser's own log: the exception's accumulates every earlier parse of the thread.
        raise ProcessDefinitionError(_syntax_problem(exc, list(parser.error_log))) from None
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
    if docinfo.doctype:
        raise _refusal("doctype")
    return root


def _check_encoding(body: bytes) -> None:
    """Refuse what libxml2 would read as the wrong characters, or refuse without saying why."""
    match = _DECLARED_ENCODING.match(body)
    declared = match.group(1).decode("ascii") if match else None
    try:
        codec = codecs.lookup(declared).name if declared else "utf-8"
    except LookupError:
        return  # libxml2 may know it (through iconv); if not, it says so and we translate that
    if body.isascii():
        return
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if codec != "utf-8":
            return  # a declared legacy encoding (GBK, GB18030, ...): libxml2 decodes it
        line = body.count(b"\n", 0, exc.start) + 1
        try:
            body.decode("gb18030")
        except UnicodeDecodeError:
            raise _refusal("not_utf8", line=line) from None
        raise _refusal("utf8_declared_gb" if declared else "undeclared_gb", line=line) from None
    if not codec.startswith("utf"):
        # Valid UTF-8 with non-ASCII text is practically never meant as Latin-1, GBK, ...
        raise _refusal("declared_not_utf8", declared=declared)


def _element_estimate(xml: bytes, wide: str | None) -> int:
    """An upper bound of the number of elements, counted without parsing."""
    if wide is not None:
        text = xml.decode(wide, errors="replace")
        return text.count("<") - text.count("</") - text.count("<!") - text.count("<?")
    return xml.count(b"<") - xml.count(b"</") - xml.count(b"<!") - xml.count(b"<?")


def _syntax_problem(exc: etree.XMLSyntaxError, entries: list[Any]) -> DiagramProblem:
    # The first error is the cause; what follows is libxml2 losing its way after it.
    entry = next((e for e in entries if e.level_name in ("ERROR", "FATAL")), entries[0] if entries else None)
    text = entry.message if entry is not None else str(exc.msg)
    line = entry.line if entry is not None else exc.lineno
    message, hint = translate(XML_SYNTAX_MESSAGES, text) or app_message("xml_syntax")
    return DiagramProblem(message, hint, line=line or None, technical=text)


def schema_problems(root: etree._Element, index: ElementIndex) -> list[DiagramProblem]:
    """Every way the document departs from the BPMN 2.0 schema (with SpiffWorkflow's extensions)."""
    with _SCHEMA_LOCK:
        # The library's own adjustment of bpmn-js output, done before it validates.
        VALIDATOR.preprocess(root)
        if VALIDATOR.validator.validate(root):
            return []
        entries: list[Any] = list(VALIDATOR.validator.error_log)
    return [_schema_problem(entry, root, index) for entry in entries]


_SCHEMA_PREFIX = re.compile(
    r"Element '(?P<tag>[^']+)'(?:, attribute '(?P<attribute>[^']+)')?: (?P<rest>.*)", re.S
)


def _schema_problem(entry: Any, root: etree._Element, index: ElementIndex) -> DiagramProblem:
    text = str(entry.message)
    parts = _SCHEMA_PREFIX.match(text)
    tag = local_name(parts["tag"]) if parts else ""
    attribute = local_name(parts["attribute"]) if parts and parts["attribute"] else ""
    rest = _EXPECTED.sub(_short_expected, parts["rest"] if parts else text)
    subject = f"属性 {attribute} " if attribute else f"<{tag}> "
    id_error = SCHEMA_ID_ERROR.search(rest)
    if id_error:
        # A well-formed id the schema refuses is one that another element already has.
        value = id_error["value"]
        message, hint = app_message("duplicate_id" if _NCNAME.match(value) else "invalid_id", value=value)
    else:
        message, hint = translate(SCHEMA_MESSAGES, rest, tag=tag, subject=subject) or app_message("schema")
    return index.problem(message, hint, _element_at(entry, root), technical=text, line=entry.line or None)


_EXPECTED = re.compile(r"(?<=Expected is )(one of )?\( (.*) \)")


def _short_expected(match: re.Match[str]) -> str:
    """``( {namespace}documentation, {namespace}incoming, ... )`` → ``( documentation、incoming等 )``."""
    names = [local_name(name.strip()) for name in match.group(2).split(",")]
    listed = "、".join(names[:8]) + ("等" if len(names) > 8 else "")
    return f"{match.group(1) or ''}( {listed} )"


def _element_at(entry: Any, root: etree._Element) -> etree._Element | None:
    """The element an error log entry is about, from its XPath (or its line)."""
    namespaces = {prefix: uri for prefix, uri in root.nsmap.items() if prefix}
    try:
        found = root.getroottree().xpath(entry.path, namespaces=namespaces) if entry.path else []
    except (etree.XPathError, TypeError):
        found = []
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return found[0]
    for element in root.iter(etree.Element):
        if element.sourceline == entry.line:
            return element
    return None
