"""Array <-> JSON-safe text for profile serialisation (little-endian, base64)."""

from __future__ import annotations

import base64

import numpy as np
from numpy.typing import NDArray


def encode_array(array: NDArray[np.generic]) -> dict[str, str]:
    """Encode with the smallest integer width that holds the values, as base64 text."""
    if array.dtype.kind in "iu" and array.size:
        low, high = int(array.min()), int(array.max())
        for candidate in ("<u1", "<u2", "<u4", "<i8"):
            info = np.iinfo(np.dtype(candidate))
            if info.min <= low and high <= info.max:
                array = array.astype(candidate)
                break
    else:
        array = array.astype(array.dtype.newbyteorder("<"))
    return {"dtype": array.dtype.str, "data": base64.b64encode(array.tobytes()).decode("ascii")}


def decode_array(payload: dict[str, str], dtype: type[np.generic]) -> NDArray[np.generic]:
    raw = np.frombuffer(base64.b64decode(payload["data"]), dtype=np.dtype(payload["dtype"]))
    return raw.astype(dtype)
