"""The benchmarks in bench/ keep working: each script's --help runs and offers --database-url, and the load
benchmark stops with a clear message when wrk is missing (benchmarks are not run in CI; these keep them from
rotting between runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if "\ndef main(" in p.read_text(encoding="utf-8"))
# One process for all scripts: importing Kluis once, not once per script.
DRIVER = """
import contextlib, io, json, runpy, sys
answers = {}
for path in sys.argv[1:]:
    sys.argv, out = [path, "--help"], io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(path, run_name="__main__")
        code = "returned"
    except SystemExit as exc:
        code = exc.code
    answers[path] = [code, out.getvalue()]
print(json.dumps(answers))
"""


def _env(**extra: str) -> dict[str, str]:
    src = str(BENCH.parent / "src")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]), **extra)


def test_every_benchmark_answers_help_and_takes_a_database_url() -> None:
    assert {p.name for p in SCRIPTS} >= {"audit.py", "gate.py", "ingest.py", "load.py", "retention.py"}
    done = subprocess.run([sys.executable, "-c", DRIVER, *map(str, SCRIPTS)], capture_output=True, text=True,
                          env=_env(), timeout=300, check=True)
    answers = json.loads(done.stdout.splitlines()[-1])
    for path, (code, text) in answers.items():
        assert code in (0, None), f"{path} --help exited with {code}"
        assert "--database-url" in text, f"{path} takes no --database-url"


def test_the_load_benchmark_stops_with_a_message_when_wrk_is_missing(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(BENCH / "load.py"), "--seconds", "1"], capture_output=True,
                          text=True, env=_env(PATH=str(tmp_path)), timeout=300)
    assert done.returncode != 0
    assert "wrk is missing" in done.stderr and "apt-get install -y wrk" in done.stderr
