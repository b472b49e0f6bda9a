"""Writing what an analysis makes: each file under a temporary name, then renamed over the old one.

A report, a table or a figure written in place can be cut short (a full disk,
a killed process) and leave a truncated file where a good one was; written
this way, the old file stays until the new one is whole.
"""

from __future__ import annotations

import io
import os
from pathlib import Path


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename it.

    Raises:
        OSError: the folder cannot be written (the old file, if any, is left as it was).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def figure_bytes(fig, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Save a figure as PNG at ``path``, atomically."""
    return write_atomic(path, figure_bytes(fig, dpi))


def save_csv(frame, path: str | Path) -> Path:
    """Save a table as CSV at ``path``, atomically."""
    return write_atomic(path, frame.to_csv(index=False))
