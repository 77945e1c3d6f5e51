"""Turn stored trajectories into the network's input, exactly as the paper.

Stored trajectories are left-aligned in a zero-padded array (see ``dataio``).
The network sees each one zero-padded on the left to ``INPUT_LENGTH`` steps
(so the padding equals the normalised start point, 0) and min-max scaled to
[0, 1] per trajectory and per axis over all ``INPUT_LENGTH`` samples. Done
once per shard, vectorised, never per epoch.
"""

from __future__ import annotations

import numpy as np

INPUT_LENGTH = 1000


def left_pad(traj: np.ndarray, lengths: np.ndarray, length: int = INPUT_LENGTH) -> np.ndarray:
    """(N, 2, Tmax) left-aligned + lengths -> (N, 2, length), each trajectory ending at the last step."""
    traj = np.asarray(traj, dtype=np.float32)
    lengths = np.asarray(lengths, dtype=np.int64)
    n, ch, tmax = traj.shape
    if lengths.shape != (n,):
        raise ValueError(f"lengths has shape {lengths.shape}, expected ({n},)")
    if n and (lengths.min() < 1 or lengths.max() > min(tmax, length)):
        raise ValueError(f"lengths must lie in [1, {min(tmax, length)}], got {lengths.min()}..{lengths.max()}")
    # out[i, :, t] = traj[i, :, t - (length - L_i)] for t >= length - L_i, else 0
    t = np.arange(length)[None, :]  # (1, length)
    src = t - (length - lengths[:, None])  # (N, length)
    valid = src >= 0
    src = np.clip(src, 0, tmax - 1)
    out = np.take_along_axis(traj, np.broadcast_to(src[:, None, :], (n, ch, length)), axis=2)
    out *= valid[:, None, :]
    return out.astype(np.float32, copy=False)


def minmax_scale(x: np.ndarray) -> np.ndarray:
    """Scale each (trajectory, axis) row to [0, 1]; a constant row becomes 0."""
    lo = x.min(axis=-1, keepdims=True)
    span = x.max(axis=-1, keepdims=True) - lo
    span[span == 0] = 1.0
    return ((x - lo) / span).astype(np.float32, copy=False)


def to_model_input(traj: np.ndarray, lengths: np.ndarray, length: int = INPUT_LENGTH) -> np.ndarray:
    """Stored trajectories (N, 2, Tmax) -> network input (N, 2, length) in [0, 1], float32."""
    return minmax_scale(left_pad(traj, lengths, length))
