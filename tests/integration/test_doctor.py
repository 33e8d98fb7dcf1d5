"""`duty-assistant doctor`: `ok` on a good state; on each damaged state (the cases of tests/test_damage.py, on
tmp copies) a FAIL line naming the problem and the command that fixes it, and exit status 1."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .test_damage import DAMAGES, ROOT, _altered_same_size, _permute_embedding_rows, make_state, with_onnx_export

CHECKS = ["source and data", "duties", "departments", "similar questions", "outside questions", "model", "index", "answer confidence", "question kind"]
LINE = re.compile(r"^(ok  |FAIL)  ([a-z ]+): (.*)$")


def report(result: subprocess.CompletedProcess) -> dict[str, tuple[bool, str]]:
    """doctor's output → {check: (ok, detail)}; also checks the report's shape."""
    assert "Traceback" not in result.stdout + result.stderr
    checks = {}
    for line in result.stdout.splitlines():
        m = LINE.match(line)
        if m:
            checks[m.group(2)] = (m.group(1) == "ok  ", m.group(3))
    assert list(checks) == CHECKS, result.stdout
    return checks


def test_doctor_is_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "duty-assistant doctor" in readme
    result = subprocess.run([sys.executable, "-m", "assistant.cli", "doctor", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--full" in result.stdout


@pytest.mark.model  # these need the fetched model files and the built index (copied, never loaded)
def test_doctor_ok_on_the_working_state():
    result = subprocess.run([sys.executable, "-m", "assistant.cli", "doctor"], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    checks = report(result)
    assert result.returncode == 0, result.stdout
    assert all(ok for ok, _ in checks.values())
    assert result.stdout.rstrip().endswith("Everything is in order.")


@pytest.fixture()
def state(tmp_path):
    return make_state(tmp_path)


@pytest.mark.model
def test_doctor_full_ok_on_a_good_copy(state):
    """The tmp copy the damage cases start from is itself in order, down to the weight hashes."""
    result = state.run("doctor", "--full")
    checks = report(result)
    assert result.returncode == 0, result.stdout
    assert "every weight file matches its sha256" in checks["model"][1]
    assert str(state.index) in checks["index"][1]  # it checked the copy, not the real index


@pytest.mark.model
@pytest.mark.parametrize("damage", DAMAGES, ids=[d.name for d in DAMAGES])
def test_doctor_names_each_problem_and_its_fix(state, damage):
    damage.apply(state)
    result = state.run("doctor")
    checks = report(result)
    assert result.returncode == 1, result.stdout
    ok, detail = checks[damage.check]
    assert not ok, result.stdout
    for word in damage.says:
        assert word in detail.lower(), detail
    assert f"`{damage.fix}" in detail, detail
    for name, (ok, detail) in checks.items():  # every failing line says what to run
        assert ok or re.search(r"`(duty-assistant|git) [^`]+`", detail), (name, detail)
    if not checks["source and data"][0]:  # it names the file that no longer matches the source
        assert re.search(r"(duties|departments)\.jsonl", checks["source and data"][1]), checks["source and data"]
    failed = sum(not ok for ok, _ in checks.values())
    assert f"{failed} problem(s)." in result.stdout


@pytest.mark.model
def test_doctor_catches_weights_altered_in_place(state):
    """Same size, different bytes, written after the verified mark: the quick check re-hashes that file and
    names it; `--full` re-hashes every file and names it too."""
    _altered_same_size(state)
    for args in (("doctor",), ("doctor", "--full")):
        result = state.run(*args)
        ok, detail = report(result)["model"]
        assert result.returncode == 1 and not ok
        assert "2_Dense/model.safetensors" in detail and "sha256" in detail
        assert "`duty-assistant model fetch --force`" in detail


@pytest.mark.model
def test_doctor_names_a_permuted_onnx_embedding_table(state):
    """Issue 16, item 1: `doctor` (and `doctor --full`) said "Everything is in order" for an embeddings.npy
    with permuted rows; now the model line fails, naming the file and the command that exports it again."""
    _permute_embedding_rows(with_onnx_export(state))
    for args in (("doctor",), ("doctor", "--full")):
        result = state.run(*args)
        ok, detail = report(result)["model"]
        assert result.returncode == 1 and not ok, result.stdout
        assert "embeddings.npy" in detail and "sha256" in detail
        assert "`duty-assistant model fetch embeddinggemma-300m`" in detail


@pytest.mark.model
def test_doctor_says_which_backend_answers(state):
    """Item 1: doctor names the backend a start would use (here ONNX Runtime, its export checked)."""
    ok, detail = report(with_onnx_export(state).run("doctor"))["model"]
    assert ok and "backend: ONNX Runtime" in detail, detail


@pytest.mark.model
def test_doctor_sends_damaged_data_to_parse_not_to_an_index_build(state):
    """Issue 16, item 9: with duties.jsonl damaged, the index line asked for `index build --force` too (an index
    built from damaged data); it now says to fix the data first."""
    (state.data / "duties.jsonl").write_text("{\"id\": \"basic-1\",\n", encoding="utf-8")
    checks = report(state.run("doctor"))
    ok, detail = checks["index"]
    assert not ok and "`duty-assistant parse`" in detail and "index build" not in detail, detail


def test_doctor_says_how_to_re_hash_everything(state):
    ok, detail = report(state.run("doctor"))["model"]
    assert ok and "--full" in detail


def test_doctor_in_process_never_raises(monkeypatch):
    """An unexpected exception inside a check becomes a FAIL line with the check's fix, not a traceback."""
    from assistant import doctor
    from assistant import models
    from assistant.search.config import RetrievalConfig

    def boom(*args, **kwargs):
        raise KeyError("weights")

    monkeypatch.setattr(models, "resolve", boom)
    results = {c.name: c for c in doctor.checks(RetrievalConfig())}
    assert not results["model"].ok and "`duty-assistant model fetch --force`" in results["model"].detail
    assert not results["index"].ok and "`duty-assistant index build --force`" in results["index"].detail
    assert results["duties"].ok
