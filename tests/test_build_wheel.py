"""scripts/build_wheel.py: a wheel is built once per set of build flags, never reused across flags."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "build_wheel.py"

# A tiny source package whose build records the CMAKE_ARGS it was built with, as llama.cpp's does.
SETUP_PY = """
import os
from setuptools import setup
os.makedirs("flagprobe", exist_ok=True)
with open("flagprobe/__init__.py", "w") as fh:
    fh.write("FLAGS = %r\\n" % os.environ.get("CMAKE_ARGS", ""))
setup(name="flagprobe", version="1.0", packages=["flagprobe"])
"""


def make_sdist(dest: Path) -> Path:
    """flagprobe-1.0.tar.gz in `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "flagprobe-1.0.tar.gz"
    files = {
        "flagprobe-1.0/setup.py": SETUP_PY,
        "flagprobe-1.0/pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
                                        'build-backend = "setuptools.build_meta"\n',
        "flagprobe-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: flagprobe\nVersion: 1.0\n",
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def poisoned_wheel(dest: Path) -> None:
    """A wheel of the same name and version built with other flags, where pip would find it."""
    with zipfile.ZipFile(dest / "flagprobe-1.0-py3-none-any.whl", "w") as whl:
        whl.writestr("flagprobe/__init__.py", "FLAGS = 'POISON'\n")
        whl.writestr("flagprobe-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: flagprobe\nVersion: 1.0\n")
        whl.writestr("flagprobe-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        whl.writestr("flagprobe-1.0.dist-info/RECORD", "")


def build(index: Path, cache: Path, flags: str) -> tuple[Path, str]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--requirement", "flagprobe==1.0", "--flags", flags, "--cache", str(cache),
         "--", "--no-index", "--find-links", str(index), "--no-build-isolation"],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return Path(result.stdout.strip().splitlines()[-1]), result.stderr


def built_with(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as whl:
        return whl.read("flagprobe/__init__.py").decode()


def test_changing_flags_rebuilds_and_same_flags_reuse(tmp_path):
    index = tmp_path / "index"
    make_sdist(index)
    poisoned_wheel(index)
    cache = tmp_path / "cache"

    first, log = build(index, cache, "-DGGML_NATIVE=OFF -DGGML_AVX2=ON")
    assert "building flagprobe==1.0" in log
    assert "-DGGML_AVX2=ON" in built_with(first), "the cached wheel of other flags was used"
    stamp = first.stat().st_mtime_ns

    again, log = build(index, cache, "-DGGML_NATIVE=OFF  -DGGML_AVX2=ON")  # same flags, other spacing
    assert again == first and again.stat().st_mtime_ns == stamp
    assert "reusing" in log and "building" not in log

    other, log = build(index, cache, "-DGGML_NATIVE=OFF -DGGML_AVX512=ON")
    assert "building flagprobe==1.0" in log
    assert other != first and "-DGGML_AVX512=ON" in built_with(other)
    assert first.exists(), "the other flags' wheel stays cached for when they come back"

    back, log = build(index, cache, "-DGGML_NATIVE=OFF -DGGML_AVX2=ON")
    assert back == first and "reusing" in log


def test_setup_picks_the_pinned_llama_line_with_hashes():
    func = subprocess.run(["sed", "-n", "/^pinned_requirement()/,/^}/p", str(REPO / "setup.sh")],
                          capture_output=True, text=True, check=True).stdout
    out = subprocess.run(["bash", "-c", func + '\npinned_requirement llama-cpp-python "$1"', "x",
                          str(REPO / "requirements" / "runtime.txt")], capture_output=True, text=True, check=True)
    line = out.stdout.strip()
    assert line.startswith("llama-cpp-python==") and "--hash=sha256:" in line and "\\" not in line


def _flags(pi: int, cpuinfo: Path | None = None) -> str:
    func = subprocess.run(["sed", "-n", "/^cpu_has()/p;/^llama_flags()/,/^}/p", str(REPO / "setup.sh")],
                          capture_output=True, text=True, check=True).stdout
    env = {"PATH": "/usr/bin:/bin", **({"COMPANION_CPUINFO": str(cpuinfo)} if cpuinfo else {})}
    return subprocess.run(["bash", "-c", func + f"\nPI={pi}; unset CMAKE_ARGS; llama_flags"], capture_output=True,
                          text=True, check=True, env=env).stdout


def test_x86_flags_follow_the_cpu_and_never_include_amx(tmp_path):
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        return
    sapphire = tmp_path / "sapphire"  # an Intel CPU with AMX and AVX-512
    sapphire.write_text("flags\t\t: fpu sse4_2 avx avx2 fma f16c bmi2 avx512f avx512cd avx512vl avx512dq avx512bw "
                        "avx512_vnni avx512_bf16 amx_tile amx_int8 amx_bf16\n")
    flags = _flags(0, sapphire)
    assert "-DGGML_NATIVE=OFF" in flags and "-DGGML_AMX_INT8=OFF" in flags and "AMX_INT8=ON" not in flags
    assert "-DGGML_AVX512=ON" in flags and "-DGGML_AVX512_VNNI=ON" in flags and "VBMI" not in flags
    haswell = tmp_path / "haswell"  # AVX2 but no AVX-512: the AVX-512 kernels must not be built in
    haswell.write_text("flags\t\t: fpu sse4_2 avx avx2 fma f16c bmi2\n")
    flags = _flags(0, haswell)
    assert "-DGGML_AVX2=ON" in flags and "AVX512" not in flags and "-DGGML_NATIVE=OFF" in flags
    old = tmp_path / "old"
    old.write_text("flags\t\t: fpu sse4_2\n")
    assert "-DGGML_AVX2=OFF" in _flags(0, old)


def test_the_pi_keeps_its_native_build():
    assert _flags(1) == "-DGGML_NATIVE=ON -DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS"
