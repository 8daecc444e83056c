"""The committed generated code matches what the `.proto` sources produce today."""

from __future__ import annotations

from pathlib import Path

from protos.generate import ROOT, generate


def test_generated_code_matches_proto_sources(tmp_path: Path) -> None:
    """Regenerating from protos/ gives byte-identical files; run `make protos` if not."""
    fresh = generate(tmp_path)

    stale = [
        str(path.relative_to(tmp_path))
        for path in fresh
        if path.read_bytes() != (ROOT / path.relative_to(tmp_path)).read_bytes()
    ]
    assert not stale, f"regenerate with `make protos`: {stale}"
