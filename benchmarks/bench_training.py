"""Training throughput: andicam's loop in fp32 and in bf16 against a loop written the paper's way.

Same model, same starting weights, same data for every loop:

(a) andicam fp32: inputs preprocessed once into one tensor, batches sliced by a
    seeded permutation (on CUDA with the larger batch and linearly scaled lr).
(b) andicam bf16: the same loop under bf16 autocast, as training runs where bf16
    is native (CUDA, a CPU with AVX512-BF16 or AMX; andicam.device.resolve_amp).
    Elsewhere it is timed all the same, marked as emulated.
(c) paper-style: a torch Dataset whose ``__getitem__`` pads and min-max scales
    one trajectory at a time, a DataLoader (batch 64), fp32, ``loss.item()``
    after every batch.

Prints samples/s of each loop and the ratios, for every depth x width asked for,
then a table of them; also the analytic FLOPs of the convolutions and the FLOP/s
they reach, as a fraction of the peak: on CUDA the card's dense bf16 peak
(``--peak-flops``); on a CPU the bf16 and fp32 peaks of the cores used, derived
from the CPU's features and clock (``cpu_peaks``, stated in the output).
``--batch-size`` sets andicam's batch (its lr scaled linearly from --lr at 64) and
``--compile`` adds (d)/(e): loops (a)/(b) on a ``torch.compile``d model, with the
compile time printed apart; ``--profile`` prints where a bf16 training step spends
its time, by operator (torch.profiler). Run:
``.venv/bin/python benchmarks/bench_training.py --width 8 16 --depth 10 18 --threads 2``.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from andicam.device import resolve_amp, resolve_device  # noqa: E402
from andicam.model import build_model  # noqa: E402
from andicam.preprocess import INPUT_LENGTH, to_model_input  # noqa: E402
from andicam.train import train_epoch  # noqa: E402


def fake_trajectories(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random walks with lengths U(10, 1000), stored left-aligned like a shard; labels uniform over 8 classes."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(10, INPUT_LENGTH + 1, n).astype(np.int32)
    traj = np.cumsum(rng.standard_normal((n, 2, INPUT_LENGTH)), axis=2).astype(np.float32)
    traj *= np.arange(INPUT_LENGTH)[None, None, :] < lengths[:, None, None]
    return traj, lengths, rng.integers(0, 8, n)


class PaperDataset(Dataset):
    """One trajectory per call: left zero-pad to 1000 and min-max scale per axis, as the authors' loader did."""

    def __init__(self, traj: np.ndarray, lengths: np.ndarray, labels: np.ndarray) -> None:
        self.traj, self.lengths, self.labels = traj, lengths, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        seq = self.traj[i, :, : self.lengths[i]].astype(np.float64)
        padded = np.pad(seq, ((0, 0), (INPUT_LENGTH - seq.shape[1], 0)))  # (2, 1000)
        lo, hi = padded.min(axis=1, keepdims=True), padded.max(axis=1, keepdims=True)
        scaled = (padded - lo) / np.where(hi > lo, hi - lo, 1.0)
        return torch.tensor(scaled, dtype=torch.float32), int(self.labels[i])


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_ours(model: nn.Module, traj: np.ndarray, lengths: np.ndarray, labels: np.ndarray, batch: int,
               n_batches: int, lr: float, amp: bool, device: torch.device, seed: int) -> tuple[float, float]:
    """(samples/s of training, seconds of the one-off preprocessing)."""
    t0 = time.perf_counter()
    x = torch.from_numpy(to_model_input(traj, lengths)).to(device)  # (N, 2, 1000)
    y = torch.from_numpy(labels.astype(np.int64)).to(device)
    prep = time.perf_counter() - t0
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimiser, step_size=10, gamma=0.5)
    gen = torch.Generator().manual_seed(seed)
    need = (n_batches + 1) * batch
    order = torch.cat([torch.randperm(len(y), generator=gen) for _ in range(-(-need // len(y)))])[:need]
    order = order.to(device)
    train_epoch(model, x, y, order[:batch], batch, optimiser, scheduler, False, amp)  # warm-up (cuDNN autotune)
    sync(device)
    t0 = time.perf_counter()
    train_epoch(model, x, y, order[batch:], batch, optimiser, scheduler, False, amp)
    sync(device)
    return n_batches * batch / (time.perf_counter() - t0), prep


def bench_paper(model: nn.Module, traj: np.ndarray, lengths: np.ndarray, labels: np.ndarray, n_batches: int,
                lr: float, device: torch.device, seed: int) -> float:
    """samples/s of the paper-style loop (batch 64, fp32, per-sample preprocessing in the DataLoader)."""
    batch = 64
    loader = DataLoader(PaperDataset(traj, lengths, labels), batch_size=batch, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    model.train()
    seen, running, t0 = 0, 0.0, 0.0  # running loss read every batch, as the authors' loop did (a sync on CUDA)
    step = 0
    while step <= n_batches:
        for xb, yb in loader:
            if step == 1:  # the first batch is warm-up
                sync(device)
                t0, seen = time.perf_counter(), 0
            xb, yb = xb.to(device), yb.to(device)
            optimiser.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimiser.step()
            running += loss.item()
            seen += len(yb)
            step += 1
            if step > n_batches:
                break
    sync(device)
    return seen / (time.perf_counter() - t0)


def bench_loader_only(traj: np.ndarray, lengths: np.ndarray, labels: np.ndarray, seed: int) -> float:
    """samples/s of the paper-style DataLoader alone: the ceiling it puts on a fast GPU."""
    loader = DataLoader(PaperDataset(traj, lengths, labels), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    t0 = time.perf_counter()
    seen = sum(len(yb) for _, yb in loader)
    return seen / (time.perf_counter() - t0)


def conv_flops_per_sample(model: nn.Module, length: int = INPUT_LENGTH) -> tuple[float, float]:
    """(forward, training) FLOPs of all Conv1d layers for one sample: 2 * Cin/groups * k * Cout * Lout each.

    Training = forward + gradient of the weights (same count) + gradient of the inputs (same count, except
    the first convolution, whose input needs none).
    """
    flops: list[float] = []

    def hook(module: nn.Conv1d, _inp: tuple[torch.Tensor], out: torch.Tensor) -> None:
        flops.append(2.0 * module.in_channels / module.groups * module.kernel_size[0] * module.out_channels
                     * out.shape[-1])

    convs = [m for m in model.modules() if isinstance(m, nn.Conv1d)]
    handles = [m.register_forward_hook(hook) for m in convs]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, convs[0].in_channels, length, device=next(model.parameters()).device))
    model.train(was_training)
    for h in handles:
        h.remove()
    forward = sum(flops)
    return forward, 3 * forward - flops[0]


# FLOP per cycle per core (a fused multiply-add counts 2) of the units that torch's oneDNN kernels use on x86,
# assuming two 512-bit FMA ports (Xeon Gold/Platinum; one-port parts have half the AVX-512 rates):
# AMX-BF16: one tile product of 16 x 32 by 32 x 16 bf16 (8,192 multiply-adds) every 16 cycles = 1,024;
# AVX512-BF16: vdpbf16ps, 32 bf16 products into 16 fp32 sums per port = 2 x 64 = 128;
# AVX-512 fp32: 16 lanes x 2 x 2 ports = 64; AVX2 fp32: 8 lanes x 2 x 2 ports = 32.
CPU_FLOP_PER_CYCLE = {"amx_bf16": 1024, "avx512_bf16": 128, "avx512_f": 64, "avx2": 32}


def cpu_ghz() -> tuple[float, str]:
    """The clock the peaks are computed at: /proc/cpuinfo's "cpu MHz" (under a hypervisor, often the base or
    TSC rate; turbo is higher), else BogoMIPS / 2."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return float("nan"), "unknown (no /proc/cpuinfo)"
    mhz = re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)
    if mhz:
        return float(mhz.group(1)) / 1000, "/proc/cpuinfo cpu MHz"
    bogo = re.search(r"^bogomips\s*:\s*([\d.]+)", text, re.M | re.I)
    return (float(bogo.group(1)) / 2000, "/proc/cpuinfo BogoMIPS / 2") if bogo else (float("nan"), "unknown")


@functools.cache
def cpu_peaks(threads: int, ghz: float | None = None) -> dict[str, tuple[float, str]]:
    """{"bf16": (FLOP/s, derivation), "fp32": (...)} of ``threads`` cores, from the features torch detects."""
    caps = torch.cpu.get_capabilities()
    clock, source = (ghz, "--cpu-ghz") if ghz else cpu_ghz()
    fp32_unit = next((u for u in ("avx512_f", "avx2") if caps.get(u)), None)
    bf16_unit = next((u for u in ("amx_bf16", "avx512_bf16") if caps.get(u)), fp32_unit)
    peaks = {}
    for kind, unit in (("bf16", bf16_unit), ("fp32", fp32_unit)):
        if unit is None:
            continue
        per_cycle = CPU_FLOP_PER_CYCLE[unit]
        note = "" if kind == "fp32" or unit in ("amx_bf16", "avx512_bf16") else " (no native bf16: fp32 units)"
        peaks[kind] = (threads * per_cycle * clock * 1e9,
                       f"{threads} core(s) x {per_cycle} FLOP/cycle ({unit}) x {clock:.2f} GHz ({source}){note}")
    return peaks


def peak_fractions(achieved: float, device: torch.device, args: argparse.Namespace) -> str:
    if device.type == "cuda":
        return f" = {100 * achieved / args.peak_flops:.1f} % of the {args.peak_flops / 1e12:.0f} TFLOP/s bf16 peak"
    return "".join(f", {100 * achieved / flops:.1f} % of {kind} peak"
                   for kind, (flops, _) in cpu_peaks(args.threads, args.cpu_ghz).items())


def compiled_loop_rate(model: nn.Module, traj: np.ndarray, lengths: np.ndarray, labels: np.ndarray, batch: int,
                       args: argparse.Namespace, lr: float, amp: bool, device: torch.device) -> tuple[float, float]:
    """(samples/s, compile seconds) of loop (a)/(b) on ``torch.compile(model)``: the first batches compile, the
    timed ones run compiled code."""
    compiled = torch.compile(model)
    t0 = time.perf_counter()
    rate, _ = bench_ours(compiled, traj, lengths, labels, batch, 1, lr, amp, device, args.seed)  # compiles
    compile_s = time.perf_counter() - t0
    rate, _ = bench_ours(compiled, traj, lengths, labels, batch, args.batches, lr, amp, device, args.seed)
    return rate, compile_s


def bench_shape(depth: int, width: int, traj: np.ndarray, lengths: np.ndarray, labels: np.ndarray,
                args: argparse.Namespace, device: torch.device, batch: int, lr: float) -> dict[str, float]:
    """Samples/s of the three loops for one network, each from the same initial weights."""
    torch.manual_seed(args.seed)
    model = build_model(depth, width).to(device)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    fwd, train_flops = conv_flops_per_sample(model)
    print(f"model depth {depth} width {width}, {args.n} trajectories, device {device}, threads {args.threads}; "
          f"conv FLOPs per sample: forward {fwd / 1e9:.3f} G, training {train_flops / 1e9:.3f} G", flush=True)
    rates: dict[str, float] = {}
    for name, amp in (("fp32", False), ("bf16", True)):
        model.load_state_dict(initial)
        rates[name], prep = bench_ours(model, traj, lengths, labels, batch, args.batches, lr, amp, device, args.seed)
    model.load_state_dict(initial)
    rates["paper"] = paper = bench_paper(model, traj, lengths, labels, args.batches, args.lr, device, args.seed)
    loader = bench_loader_only(traj, lengths, labels, args.seed)
    if args.compile:
        for name, amp in (("fp32 compiled", False), ("bf16 compiled", True)):
            model.load_state_dict(initial)
            rates[name], compile_s = compiled_loop_rate(model, traj, lengths, labels, batch, args, lr, amp, device)
            rates[f"{name} compile s"] = compile_s
    if args.profile and device.type == "cpu":
        model.load_state_dict(initial)
        x = torch.from_numpy(to_model_input(traj[:batch], lengths[:batch]))  # (batch, 2, 1000)
        print(f"profile of 10 bf16 training steps at batch {batch} (self time by operator):")
        print(profile_step(model, x, torch.from_numpy(labels[:batch].astype(np.int64)), amp=True))
    native, why = resolve_amp(device, True)
    print(f"(a) andicam fp32: batch {batch}, lr {lr:g}: {rates['fp32']:,.1f} samples/s "
          f"(one-off preprocessing of all {args.n}: {prep:.3f} s = {args.n / prep:,.0f}/s)")
    print(f"(b) andicam bf16: batch {batch}, lr {lr:g}: {rates['bf16']:,.1f} samples/s "
          f"({why if native else 'emulated: ' + why})")
    print(f"(c) paper loop:   batch 64, fp32, per-sample Dataset + DataLoader: {paper:,.1f} samples/s")
    print(f"    its DataLoader alone (no model): {loader:,.0f} samples/s; andicam preprocessing is "
          f"{args.n / prep / loader:.0f}x faster and runs once")
    if args.compile:
        for name in ("fp32", "bf16"):
            print(f"({'d' if name == 'fp32' else 'e'}) andicam {name}, torch.compile: {rates[name + ' compiled']:,.1f} "
                  f"samples/s ({rates[name + ' compiled'] / rates[name]:.2f}x uncompiled; compiling took "
                  f"{rates[name + ' compiled compile s']:.1f} s, worth it after "
                  f"{_break_even(rates[name], rates[name + ' compiled'], rates[name + ' compiled compile s'])})")
    print(f"ratios: fp32/paper {rates['fp32'] / paper:.2f}x, bf16/paper {rates['bf16'] / paper:.2f}x, "
          f"bf16/fp32 {rates['bf16'] / rates['fp32']:.2f}x")
    for name in ("fp32", "bf16", "paper") + (("fp32 compiled", "bf16 compiled") if args.compile else ()):
        achieved = rates[name] * train_flops
        print(f"conv throughput, {name}: {achieved / 1e12:.3f} TFLOP/s{peak_fractions(achieved, device, args)}")
    print(flush=True)
    return rates


def profile_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, amp: bool, steps: int = 10) -> str:
    """torch.profiler's table of the operators of ``steps`` training steps (andicam's train_epoch) on the batch
    (x, y), by own time."""
    from torch.profiler import ProfilerActivity, profile

    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1.0)
    order = torch.arange(len(y)).repeat(steps)  # `steps` batches of the same inputs
    train_epoch(model, x, y, order[: 3 * len(y)], len(y), optimiser, scheduler, False, amp)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        train_epoch(model, x, y, order, len(y), optimiser, scheduler, False, amp)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=40)


def _break_even(plain: float, compiled: float, compile_s: float) -> str:
    """How many training samples the compile time takes to pay back."""
    if compiled <= plain:
        return "never"
    return f"{compile_s / (1 / plain - 1 / compiled):,.0f} samples"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=512, help="trajectories in the data set")
    p.add_argument("--width", type=int, nargs="+", default=[64], help="one or more widths")
    p.add_argument("--depth", type=int, nargs="+", default=[18], choices=[10, 18, 34], help="one or more depths")
    p.add_argument("--batches", type=int, default=8, help="timed batches per loop (after one warm-up batch)")
    p.add_argument("--gpu-batch-size", type=int, default=256, help="andicam's batch on CUDA (paper: 64)")
    p.add_argument("--batch-size", type=int, default=64, help="andicam's batch on a CPU (the paper loop keeps 64)")
    p.add_argument("--compile", action="store_true", help="also time loops (a) and (b) on torch.compile(model)")
    p.add_argument("--profile", action="store_true", help="on a CPU, also print where a bf16 training step spends its time")
    p.add_argument("--cpu-ghz", type=float, default=None,
                   help="the clock for the CPU peaks (default: /proc/cpuinfo's, often the base clock)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", default="auto")
    p.add_argument("--peak-flops", type=float, default=989e12,
                   help="the card's dense bf16 peak in FLOP/s (H100/H200 SXM: 989e12)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    batch = args.gpu_batch_size if device.type == "cuda" else args.batch_size
    lr = args.lr * batch / 64  # linear scaling, as andicam train does
    if device.type == "cpu":
        for kind, (flops, how) in cpu_peaks(args.threads, args.cpu_ghz).items():
            print(f"CPU {kind} peak: {flops / 1e12:.2f} TFLOP/s = {how}")
    traj, lengths, labels = fake_trajectories(args.n, args.seed)
    table = [(d, w, bench_shape(d, w, traj, lengths, labels, args, device, batch, lr))
             for d in args.depth for w in args.width]
    print("| depth | width | paper samples/s | fp32 samples/s | bf16 samples/s | fp32/paper | bf16/paper | bf16/fp32 |")
    print("|---|---|---|---|---|---|---|---|")
    for d, w, r in table:
        print(f"| {d} | {w} | {r['paper']:,.0f} | {r['fp32']:,.0f} | {r['bf16']:,.0f} | {r['fp32'] / r['paper']:.2f} "
              f"| {r['bf16'] / r['paper']:.2f} | {r['bf16'] / r['fp32']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
