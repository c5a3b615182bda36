"""Scripts in diagrams run restricted; unsafe ones are refused when the diagram is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState

from tests.workflows.script_diagrams import script_process as diagram
from workflows.definitions import ProcessDefinitionError, ProcessLibrary, parse_definition
from workflows.restricted import RestrictedEnvironment

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("x = __import__('os').popen('id').read()", "_"),
        ("x = ().__class__.__base__.__subclasses__()", "_"),
        ("x = open('/etc/passwd').read()", "open"),
        ("import os\nx = os.getcwd()", "import"),
        ("x = getattr(total, 'real')", "getattr"),
        ("x = eval('1+1')", "eval"),
    ],
)
def test_unsafe_script_is_refused_at_load_naming_the_element(script: str, reason: str) -> None:
    with pytest.raises(ProcessDefinitionError) as excinfo:
        parse_definition(diagram(script), "p")
    message = str(excinfo.value)
    assert "script" in message  # the element id
    assert reason in message


def test_harmless_script_runs_under_the_restricted_engine() -> None:
    definition = parse_definition(diagram("total = sum([a, b]) * 2\nlabel = '合计' + str(total)"), "p")
    library = ProcessLibrary(BPMN_DIR)
    wf = library.new_workflow(definition, {"a": 1, "b": 2}, services=None)
    assert wf.completed
    assert wf.last_task.data["total"] == 6
    assert wf.last_task.data["label"] == "合计6"


def test_restricted_environment_blocks_escape_at_run_time_too() -> None:
    env = RestrictedEnvironment()
    with pytest.raises(SyntaxError):
        env.evaluate("().__class__.__base__", {})
    with pytest.raises(NameError):
        env.evaluate("open('/etc/passwd')", {})


def test_engine_is_reattached_after_every_load() -> None:
    library = ProcessLibrary(BPMN_DIR)
    definition = library.current_file("district_assessment")
    rules = {s: {"kind": "days", "days": 3} for s in ("self_report", "verification", "appeal", "review")}
    wf = library.new_workflow(definition, {"deadline_rules": rules}, services=None)
    restored = library.loads(library.dumps(wf), services=None)
    assert isinstance(restored.script_engine.environment, RestrictedEnvironment)
    ready = restored.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.bpmn_id for t in ready] == ["self_report"]


def test_unknown_lane_is_refused() -> None:
    xml = (BPMN_DIR / "district_assessment.bpmn").read_bytes().replace("核查员".encode(), "临时工".encode())
    with pytest.raises(ProcessDefinitionError, match="临时工"):
        parse_definition(xml, "district_assessment")


def test_standard_diagrams_parse_with_xsd_validation() -> None:
    library = ProcessLibrary(BPMN_DIR)
    district = library.current_file("district_assessment")
    round_ = library.current_file("round_assessment")
    assert set(district.user_tasks) == {"self_report", "verification", "result_confirmation", "appeal_review"}
    assert set(round_.user_tasks) == {"finalise", "approval"}


def test_invalid_xml_is_refused_with_a_message() -> None:
    with pytest.raises(ProcessDefinitionError, match="流程图"):
        parse_definition(b"<bpmn:definitions", "p")
