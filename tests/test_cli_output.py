"""``tapwork export`` and ``tapwork payouts export`` when the output cannot be written.

Whatever goes wrong (no such folder, no permission, a folder given as the file, the disk
filling up half way) the operator reads one line, the exit code is 2, and no file is
left half-written: neither under the name asked for (an older file there is kept as it
was) nor as ``FILE.partial``.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.conftest import ROOT
from tests.test_cli_wording import SAMPLE, one_error

COMMANDS = {
    "export": ["export", "--project", "reviews", "-o"],
    "payouts": ["payouts", "export", "--status", "all", "-o"],
}


@pytest.fixture
def config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A project with 2,000 items: its export is about 200 KB."""
    file = tmp_path / "config.toml"
    file.write_text(f'[storage]\npath = "{tmp_path / "tapwork.db"}"\n')
    assert main(["project", "-c", str(file), str(SAMPLE / "reviews.toml")]) == 0
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"id": f"r{i}", "text": f"review {i}"}) + "\n"
                             for i in range(2_000)))
    assert main(["import", "-c", str(file), "--project", "reviews", str(items)]) == 0
    capsys.readouterr()
    return file


def run(capsys: pytest.CaptureFixture[str], config: Path, command: str, target: Path) -> str:
    name, *rest = COMMANDS[command]
    return one_error(capsys, [name, "-c", str(config), *rest, str(target)])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "partial" in p.name
                  or p.name.startswith("out"))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_folder(config: Path, tmp_path: Path, command: str,
                          capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing" / "out.csv"
    err = run(capsys, config, command, target)
    assert err == f"tapwork: cannot write {target}: No such file or directory"
    assert not target.parent.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_without_write_permission(config: Path, tmp_path: Path, command: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:  # root writes anywhere it has permission bits for: sysfs refuses
        target = Path("/sys") / f"tapwork-test-{os.getpid()}.csv"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "out.csv"
    err = run(capsys, config, command, target)
    assert err == f"tapwork: cannot write {target}: Permission denied"
    assert not target.exists()
    assert not target.with_name(target.name + ".partial").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_given_as_the_output(config: Path, tmp_path: Path, command: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    err = run(capsys, config, command, target)
    assert err == f"tapwork: cannot write {target}: Is a directory"
    assert leftovers(tmp_path) == ["out"]  # no out.partial either
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


class _FillingDisk:
    """A file whose disk fills up after ``room`` more characters."""

    def __init__(self, file: Any, room: int) -> None:
        self._file = file
        self._room = room

    def write(self, text: str) -> int:
        self._room -= len(text)
        if self._room < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return int(self._file.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __enter__(self) -> _FillingDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_disk_that_fills_up_half_way(config: Path, tmp_path: Path, command: str,
                                       capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.csv"
    target.write_text("last week's file\n")
    real_open = pathlib.Path.open
    written: list[str] = []

    def open_on_a_small_disk(self: Path, *args: Any, **kwargs: Any) -> Any:
        file = real_open(self, *args, **kwargs)
        if not self.name.endswith(".partial"):
            return file
        written.append(self.name)
        return _FillingDisk(file, 20 if command == "payouts" else 50_000)

    monkeypatch.setattr(pathlib.Path, "open", open_on_a_small_disk)
    err = run(capsys, config, command, target)
    assert err == f"tapwork: cannot write {target}: No space left on device"
    assert written == ["out.csv.partial"]
    assert leftovers(tmp_path) == ["out.csv"]
    assert target.read_text() == "last week's file\n"


def test_a_real_write_refused_by_the_kernel_mid_export(config: Path, tmp_path: Path
                                                       ) -> None:
    """The same, with the operating system refusing the write: the process may not
    grow any file past 64 KB (RLIMIT_FSIZE), and the export is about 200 KB."""
    target = tmp_path / "labels.jsonl"
    limit = 64 * 1024
    code = ("import resource, signal, sys\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
            "from bot.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    done = subprocess.run([sys.executable, "-c", code, "export", "-c", str(config),
                           "--project", "reviews", "-o", str(target)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"tapwork: cannot write {target}: File too large\n"
    assert not target.exists()
    assert not target.with_name(target.name + ".partial").exists()
