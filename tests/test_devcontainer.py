"""The two Codespaces configurations (.devcontainer/): valid, and in step with the rest of the repository.

The dev container spec's JSON schema checks the shape of each file. The other tests check what a schema
cannot: the files they name exist, they run the README's own set-up command, torch comes from
requirements.txt (the CPU build through scripts/setup.sh), and Python is the version CI uses.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CPU = ROOT / ".devcontainer" / "devcontainer.json"
GPU = ROOT / ".devcontainer" / "gpu" / "devcontainer.json"
CONFIGS = {"cpu": CPU, "gpu": GPU}
SCHEMA = ROOT.parent / "shared" / "schemas" / "devContainer.base.schema.json"
SET_UP = "./course.sh setup"  # the README's set-up command; course.sh hands it to scripts/setup.sh
EXTENSIONS = {"ms-python.python", "ms-toolsai.jupyter", "congyiwu.vscode-jupytext"}


def strip_jsonc(text: str) -> str:
    """JSON with comments (// and /* */) and trailing commas -> plain JSON; strings are left untouched."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i] == '"':  # copy a whole string, escapes included, so "https://..." keeps its //
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith(("//", "/*"), i):
            i = skip_comment(text, i)
        elif text[i] == ",":
            after = next_token(text, i + 1)
            if text[after:after + 1] not in ("}", "]"):  # else a trailing comma: drop it
                out.append(",")
            i += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def skip_comment(text: str, i: int) -> int:
    """The index just after the comment that starts at `i`."""
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    end = text.find("*/", i + 2)
    if end < 0:
        raise ValueError(f"unterminated /* comment at character {i}")
    return end + 2


def next_token(text: str, i: int) -> int:
    """The index of the next character from `i` that is neither blank nor in a comment."""
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith(("//", "/*"), i):
            i = skip_comment(text, i)
        else:
            break
    return i


def load(path: Path) -> dict:
    return json.loads(strip_jsonc(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def config(request) -> tuple[str, dict]:
    return request.param, load(CONFIGS[request.param])


def set_up_command(cfg: dict) -> str:
    """The lifecycle command that sets the course up (exactly one of them does)."""
    keys = [k for k in ("onCreateCommand", "updateContentCommand", "postCreateCommand") if SET_UP in str(cfg.get(k, ""))]
    assert len(keys) == 1, f"exactly one lifecycle command should run {SET_UP!r}; found it in {keys or 'none'}"
    command = cfg[keys[0]]
    assert isinstance(command, str), f"{keys[0]} should be one shell line; got {command!r}"
    return command


# --- the JSONC stripper itself --------------------------------------------------------------------------------


def test_strip_jsonc_keeps_strings_and_drops_comments_and_trailing_commas():
    text = """// head
    {
      "url": "https://example.com/a//b", /* block, with a comma, */
      "quote": "say \\"// not a comment\\", ok",
      "commas": ",}",  // a string that looks like a trailing comma
      "list": [1, 2, /* c */ 3,],
    }"""
    assert json.loads(strip_jsonc(text)) == {
        "url": "https://example.com/a//b",
        "quote": 'say "// not a comment", ok',
        "commas": ",}",
        "list": [1, 2, 3],
    }


def test_strip_jsonc_drops_a_trailing_comma_followed_by_a_comment():
    assert json.loads(strip_jsonc('{"a": [1, // one\n], "b": 2, /* end */\n}')) == {"a": [1], "b": 2}


# --- the spec's JSON schema ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator():
    if not SCHEMA.is_file():
        pytest.skip(f"the dev container schema is not at {SCHEMA} (CI's ../shared/schemas); nothing to validate against")
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft201909Validator(schema)


def test_configs_match_the_dev_container_schema(config, validator):
    name, cfg = config
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(cfg)]
    assert not errors, f"{CONFIGS[name].relative_to(ROOT)} breaks the dev container schema:\n" + "\n".join(errors)


def test_the_schema_check_can_fail(config, validator):
    # The validator catches a real mistake in these very files: memory units must be lower case.
    _, cfg = config
    broken = json.loads(json.dumps(cfg))
    broken["hostRequirements"]["memory"] = "8GB"
    assert not validator.is_valid(broken)


# --- what the schema cannot check ---------------------------------------------------------------------------------


def test_files_they_open_exist(config):
    _, cfg = config
    for name in cfg["customizations"]["codespaces"]["openFiles"]:
        assert (ROOT / name).is_file(), f"openFiles names {name}, which is not in the repository"


def test_set_up_runs_the_readme_command_through_course_sh(config):
    _, cfg = config
    command = set_up_command(cfg)
    assert re.fullmatch(r"(GAN_COURSE_TORCH=cpu )?\./course\.sh setup", command), command
    script = ROOT / "course.sh"
    assert script.is_file() and script.stat().st_mode & 0o111, "course.sh must exist and be executable"
    assert re.search(r"^\s*setup\) exec bash scripts/setup\.sh", script.read_text(), re.M), \
        "./course.sh setup should run scripts/setup.sh"
    assert (ROOT / "scripts" / "setup.sh").is_file()
    # The README documents the command the CPU codespace runs, and the two everyday commands.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for documented in (command, "./course.sh lab", "./course.sh test"):
        assert documented in readme, f"README.md should show {documented!r}"


def test_cpu_config_installs_the_cpu_build_and_keeps_it():
    cfg = load(CPU)
    assert set_up_command(cfg) == "GAN_COURSE_TORCH=cpu ./course.sh setup"
    # The terminal's ./course.sh lab | train | test must find the same build, or set-up would run pip again.
    assert cfg["containerEnv"]["GAN_COURSE_TORCH"] == "cpu"
    assert cfg["hostRequirements"]["cpus"] == 2
    assert cfg["hostRequirements"].get("gpu", False) is False


def test_gpu_config_installs_the_default_build_and_takes_a_gpu_if_there_is_one():
    cfg = load(GPU)
    assert "GAN_COURSE_TORCH=cpu" not in set_up_command(cfg)
    assert cfg["containerEnv"]["GAN_COURSE_TORCH"] == "default"
    assert cfg["hostRequirements"]["gpu"] == "optional"


def test_the_two_configs_differ_only_where_documented():
    allowed = ("name", "hostRequirements", "containerEnv", "updateContentCommand", "postCreateCommand")
    cpu, gpu = ({k: v for k, v in load(p).items() if k not in allowed} for p in (CPU, GPU))
    assert cpu == gpu


def test_torch_comes_only_from_requirements_txt(config):
    # No config pins or installs packages itself: set-up installs requirements.txt.
    _, cfg = config
    text = json.dumps(cfg)
    assert "pip install" not in text and "torch==" not in text and "requirements.txt" not in text


def test_cpu_build_uses_the_versions_in_requirements_txt():
    # Run setup.sh's own line that turns the pins into +cpu pins, and compare with requirements.txt.
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    line = re.search(r'^\s*versions="\$\(.*requirements\.txt.*\)"\s*$', setup, re.M)
    assert line, "scripts/setup.sh should derive the CPU torch pins from requirements.txt (a versions=... line)"
    assert re.search(r"--extra-index-url https://download\.pytorch\.org/whl/cpu \$versions", setup)
    assert "--index-url" not in setup.replace("--extra-index-url", ""), "a global --index-url would hide PyPI"
    result = subprocess.run(["bash", "-c", line.group(0).strip() + '\nprintf "%s\\n" $versions'],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    pins = re.findall(r"^(torch|torchvision)==(\S+)\s*$", (ROOT / "requirements.txt").read_text(), re.M)
    assert len(pins) == 2, f"requirements.txt should pin torch and torchvision exactly; found {pins}"
    assert result.stdout.split() == [f"{name}=={version}+cpu" for name, version in pins]


def test_interpreter_setting_points_into_the_venv_set_up_creates(config):
    _, cfg = config
    vscode = cfg["customizations"]["vscode"]
    assert EXTENSIONS <= set(vscode["extensions"])
    default_venv = re.search(r'^VENV="\$\{GAN_COURSE_VENV:-([^}]+)\}"', (ROOT / "scripts" / "setup.sh").read_text(), re.M)
    assert default_venv, "scripts/setup.sh should set VENV from GAN_COURSE_VENV with a default"
    assert vscode["settings"]["python.defaultInterpreterPath"] == f"${{containerWorkspaceFolder}}/{default_venv.group(1)}/bin/python"


# --- one Python version everywhere ----------------------------------------------------------------------------


def course_python() -> str:
    version = (ROOT / ".python-version").read_text().strip()
    assert re.fullmatch(r"3\.\d+", version), f".python-version should hold a minor version like 3.11; got {version!r}"
    return version


def test_images_use_the_course_python(config):
    _, cfg = config
    image = cfg["image"]
    assert image.startswith("mcr.microsoft.com/devcontainers/python:"), image
    tag = image.rsplit(":", 1)[1]
    assert re.search(r"(^|-)(\d+\.\d+)(-|$)", tag).group(2) == course_python(), \
        f"{image} does not use Python {course_python()} (.python-version)"


def test_readme_states_the_course_python():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = set(re.findall(r"Python (3\.\d+)", readme))
    assert stated == {course_python()}, f"README.md names Python {sorted(stated)}; .python-version says {course_python()}"


def test_the_python_running_the_tests_is_the_course_python():
    import sys

    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != course_python():
        # A student may run the suite on another Python; the course is tested (CI, codespaces) with this one.
        pytest.skip(f"this interpreter is Python {running}; CI and the codespaces use {course_python()} (.python-version)")
    assert running == course_python()


# --- the README's Codespaces links ---------------------------------------------------------------------------------


def test_readme_codespaces_links_name_existing_configs_of_one_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"https://codespaces\.new/([\w.-]+/[\w.-]+)(\?[^)\s]*)?", readme)
    assert len(links) >= 2, "README.md should link the CPU and the GPU configuration"
    assert len({repo for repo, _ in links}) == 1, f"the Codespaces links name different repositories: {links}"
    paths = {m.group(1) for _, query in links for m in [re.search(r"devcontainer_path=([^&]+)", query or "")] if m}
    assert ".devcontainer/gpu/devcontainer.json" in paths
    for path in paths:
        assert (ROOT / path).is_file(), f"README.md links a configuration that does not exist: {path}"
