"""Regenerates the Python code and `.pyi` stubs from the `.proto` sources.

    python -m protos.generate            # rewrite protos/secrets/v1/*_pb2*.py[i]
    python -m protos.generate OUT_DIR    # write the same files under OUT_DIR

Needs the pinned grpcio-tools and mypy-protobuf from the `test` extra, so the
output is byte-for-byte what is committed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("protos/secrets/v1/secrets.proto",)


def generate(out_dir: Path = ROOT) -> list[Path]:
    """Run protoc with the Python, gRPC and mypy plugins; return the files written."""
    from grpc_tools import protoc  # type: ignore[import-untyped]

    # protoc finds protoc-gen-mypy on PATH; it sits beside this interpreter.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    out_dir.mkdir(parents=True, exist_ok=True)
    include = str(Path(protoc.__file__).parent / "_proto")
    args = [
        "protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *(str(ROOT / source) for source in SOURCES),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed; see the messages above.")

    written = []
    for source in SOURCES:
        stem = Path(source).with_suffix("")
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi"):
            written.append(out_dir / f"{stem}{suffix}")

    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    for path in generate(target):
        print(path)
