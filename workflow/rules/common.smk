# Shared by all stages: config validation, the package on the path, paths, input functions.

import json
import shlex
import shutil
import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod

PKG_DIR = str(Path(workflow.basedir) / "workflow")
# Rules import andicam from the workflow itself, so no environment (pip or conda) needs it installed:
# the Snakefile through sys.path, every job's shell through PYTHONPATH (also on SLURM nodes and in
# conda envs). "set -euo pipefail" is Snakemake's own default prefix, kept.
sys.path.insert(0, PKG_DIR)
_prefix = f"set -euo pipefail; export PYTHONPATH={shlex.quote(PKG_DIR)}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
# Without conda, jobs run `python` from the interpreter that runs Snakemake (`.venv/bin/snakemake` works
# from a shell that never activated the venv); with --use-conda each job keeps its env's python.
if DeploymentMethod.CONDA not in workflow.deployment_settings.deployment_method:
    _prefix += f"export PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH; "
shell.prefix(_prefix)

from andicam.config import PAPER_ARMS, ConfigError, arm_seeds, augment_regimes, augment_setup, robust_seeds, validate

try:
    validate(config)
except ConfigError as exc:
    sys.stderr.write(f"{exc}\n")
    sys.exit(1)

CPU_ENV = "../../envs/andicam-cpu.yaml"
GPU_ENV = "../../envs/andicam-cuda.yaml"
REGIMES = ("fixed", "variable")
# Every figure (PDF; the PNG is written beside it); each stage adds its own. `all` builds them.
FIGURES = []



def shards(regime, split, first=None):
    """The shard files of one regime and split, in index order: all of them, or the first `first` (all
    of them when `first` exceeds their number, as every "first N shards" key of the config reads)."""
    n = config["data"]["regimes"][regime]["shards"][split]
    return [f"results/data/{regime}/{split}/shard{i}.h5" for i in range(n)][:first]


# The noise evaluations' precision (config evaluation.noise_amp): bf16 where native, the first convolution fp32.
NOISE_AMP = "--amp" if config["evaluation"]["noise_amp"] else "--no-amp"


def main_model(regime):
    """The model every analysis stage explains: main depth, first training seed."""
    depth, seed = config["model"]["main_depth"], config["train"]["seeds"][0]
    return f"results/models/{regime}/depth{depth}/seed{seed}/model.pt"


def explained_seed(wildcards):
    """The training seed an {explained} folder names (seed<s>/, explain.more_seeds), else the first (the main
    model's)."""
    return int(wildcards.explained[4:-1]) if wildcards.explained else config["train"]["seeds"][0]


def explained_model(regime, wildcards):
    """The model an explaining job explains: the main-depth model of its explained_seed (the main model when
    {explained} is empty; its outputs then lie in results/seed<s>/...)."""
    return f"{run_dir('models', regime, config['model']['main_depth'], explained_seed(wildcards))}/model.pt"


def explained(paths):
    """An input function: ``paths`` (the main model's explaining outputs) in the {explained} folder."""
    return lambda w: [p.replace("results/", f"results/{w.explained}", 1) for p in paths]


HAS_NVIDIA_DRIVER = shutil.which("nvidia-smi") is not None


def gpu_claim(device):
    """The resource `gpu` of a job that runs the network with `--device DEVICE`: 1 where it may take a CUDA
    card, so that the default profile's `gpu=1` (or `--resources gpu=N`) keeps two jobs off one card and SLURM
    gets `--gpus=1`; 0 where it runs on the CPU, so that a CPU-only machine runs such jobs side by side as
    --cores allows. "auto" takes a card under a cluster executor (the submitting host need not have one) and,
    run locally, where this machine has an NVIDIA driver (`nvidia-smi` on PATH; the executor is known only
    once jobs are built, so that part is evaluated per job)."""
    if device == "cpu":
        return 0
    if device != "auto" or HAS_NVIDIA_DRIVER:
        return 1
    return lambda wildcards: int(not workflow.local_exec)


def minutes(base):
    """SLURM runtime at the paper's scale, growing with each attempt: a job that timed out is
    resubmitted (profiles/slurm: retries) with more time."""
    return lambda wildcards, attempt: base * attempt


def caption(name):
    return f"../report/{name}.rst"


# Input functions of the classifier (train.smk).


def train_options(lr=None, schedule=None):
    """The `andicam train` options every training rule takes from config `train` (optimiser, schedule,
    device, precision); lr and schedule override the config's. Epochs and patience are each rule's own."""
    t = config["train"]
    schedule = schedule or t["schedule"]
    return (f"--lr {lr or t['lr']} --schedule {schedule} --batch-size {t['batch_size']}"
            f" --step-size {t['step_size']} --gamma {t['gamma']} --min-delta {t['min_delta']}"
            f" --weight-decay {t['weight_decay']} --device {t['device']} --gpu-batch-size {t['gpu_batch_size']}"
            f" {'--amp' if t['amp'] else '--no-amp'}"
            + (" --fp32-stem" if t["fp32_stem"] else "")
            + (" --tf32" if t["tf32"] else "")
            + (f" --warmup {t['warmup']}" if t["warmup"] and schedule == "cosine" else "")
            + (" --compile" if t["compile"] else "")
            + (f" --bn-recalibration {t['bn_recalibration']}" if t["bn_recalibration"] else ""))


def run_dir(kind, regime, depth, seed):
    """results/{models|eval}/{regime}/depth{depth}/seed{seed}."""
    return f"results/{kind}/{regime}/depth{depth}/seed{seed}"


def all_runs(kind, name):
    return [f"{run_dir(kind, r, d, s)}/{name}" for r in REGIMES for d in config["model"]["depths"]
            for s in TRAIN["seeds"]]


# Input functions of the Grad-CAM and its analyses (explain.smk).


def gradcam_files(regime, split, n, explained=""):
    """Grad-CAM files of the first n shards of a split (all of them when n exceeds their number), of the main
    model or of the one the folder ``explained`` (seed<s>/) names."""
    return [p.replace("results/data/", f"results/{explained}gradcam/") for p in shards(regime, split, n)]


# Input functions of the summary (summary.smk).


def summary_metrics(wildcards):
    """Main depth, both regimes, every training seed; the explained model's seed first in each regime."""
    first = explained_seed(wildcards)
    seeds = [first] + [s for s in config["train"]["seeds"] if s != first]
    return [f"{run_dir('eval', r, config['model']['main_depth'], s)}/metrics.json" for r in REGIMES for s in seeds]


# Input functions of the augmentation (augment.smk): one set-up per regime of AUG_REGIMES, settings AUG_OF[regime].

AUG_REGIMES = augment_regimes(config)
AUG_OF = {r: augment_setup(config, r) for r in AUG_REGIMES}
AUG_MAIN = AUG_REGIMES[0]  # its figures are the paper's augmentation figures


def augment_setting(key):
    """An input function / param: one setting of the wildcard regime's set-up."""
    return lambda w: AUG_OF[w.regime][key]


def augment_summaries():
    """(paths, draws) of every set-up's summary, augment.regime's first."""
    return ([f"results/augment/{r}/summary.csv" for r in AUG_REGIMES], [AUG_OF[r]["draw"] for r in AUG_REGIMES])


def noise_eval_parts(regime):
    """The noise evaluation's jobs of a set-up: 'baseline' (if evaluated), 'seed<s>' per retraining seed (the
    paper's arms), then 'diagnostic<s>' per seed that has other arms (augment.diagnostic_seeds)."""
    aug = AUG_OF[regime]
    parts = [f"{kind}{s}" for kind in ("seed", "diagnostic") for s in aug["seeds"]]
    return (["baseline"] if aug["baseline"] else []) + [p for p in parts if noise_eval_models(regime, p)[1]]


def noise_eval_models(regime, part):
    """(paths, arms, seeds) of the models of one noise-evaluation job: the unaugmented main model ('baseline'),
    the paper's arms of one retraining seed ('seed<s>'), or its other arms ('diagnostic<s>'). The paper's arms
    are scored apart so that their comparison at every seed does not wait for the diagnostic retrainings."""
    aug = AUG_OF[regime]
    if part == "baseline":
        return [main_model(regime)], ["baseline"], [config["train"]["seeds"][0]]
    paper = part.startswith("seed")
    seed = int(part.removeprefix("seed" if paper else "diagnostic"))
    arms = [arm for arm, seeds in arm_seeds(aug).items() if seed in seeds and (arm in PAPER_ARMS) == paper]
    return [f"results/augment/{regime}/models/{arm}/seed{seed}/model.pt" for arm in arms], arms, [seed] * len(arms)


# Input functions of the noise-robust classifier (robust.smk) and predict.


def robust_run(kind, regime, seed):
    """results/robust/{models|eval}/{regime}/seed{seed}."""
    return f"results/robust/{kind}/{regime}/seed{seed}"


# Input functions of the AnDi 2020 benchmark (andi2020.smk).


def andi_shards(split):
    """The AnDi Task 2 files of one split: andi2020.train.shards of train and val, one test file."""
    n = config["andi2020"]["train"]["shards"][split] if split != "test" else 1
    return [f"results/andi2020/data/{split}/shard{i}.h5" for i in range(n)]


def andi_scored():
    """(name, model file) of every classifier the benchmark scores (config andi2020.score)."""
    models = []
    for name in config["andi2020"]["score"]:
        if name == "andi2020":
            models += [(f"andi2020_seed{s}", f"results/andi2020/models/seed{s}/model.pt")
                       for s in config["andi2020"]["train"]["seeds"]]
        elif "variable" in REGIMES:  # the paper's eight classes, folded into the five models
            path = (f"{robust_run('models', 'variable', MAIN_SEED)}/model.pt" if name == "robust"
                    else main_model("variable"))
            models.append((f"{name}_variable", path))
    return models


# Input functions of the relevance (relevance.smk).


def window_options(stages):
    return " ".join(f"--window {s}={REL['windows'][s]}" for s in stages.split())


# Input functions of the predict (predict.smk).


def predict_tracks(wildcards):
    if not config["predict"]["input"]:
        raise ValueError("the predict target needs config predict.input, the tracks file (CSV or AnDi .txt) to classify")
    return config["predict"]["input"]


def predict_model(wildcards):
    """The configured model file, else the first-seed model of the configured kind and length regime."""
    cfg = config["predict"]
    if cfg["model"]:
        return cfg["model"]
    if cfg["model_kind"] == "robust":
        return f"{robust_run('models', cfg['regime'], config['train']['seeds'][0])}/model.pt"
    return main_model(cfg["regime"])


def predict_options():
    """Command-line options from config predict (only the CSV columns that are set)."""
    cfg = config["predict"]
    opts = [f"--format {cfg['format']}", f"--min-length {cfg['min_length']}", f"--long {cfg['long']}",
            f"--batch-size {cfg['batch_size']}", f"--device {cfg['device']}"]
    opts += [f"--{role}-col '{name}'" for role, name in cfg["columns"].items() if name]
    if cfg["skip_rows"] is not None:
        opts.append(f"--skip-rows {cfg['skip_rows']}")
    if cfg["gradcam"]:
        opts.append(f"--gradcam-dir {PREDICT_GRADCAM}")
    return " ".join(opts)


# Input functions of the scaling study (scaling.smk).


def scaling_dir(regime, per_class, width, epochs, seed):
    depth = config["scaling"]["depth"]
    return f"results/scaling/{regime}/n{per_class}/depth{depth}/width{width}/epochs{epochs}/seed{seed}"


def scaling_runs(name):
    """One file per model of the grid: every size with `seeds`, the largest also with `largest_seeds`."""
    cfg = config["scaling"]
    largest = max(cfg["per_class"])
    return [f"{scaling_dir(r, n, w, e, s)}/{name}" for r in cfg["regimes"] for n in cfg["per_class"]
            for w in cfg["widths"] for e in cfg["epochs"]
            for s in cfg["seeds"] + (cfg["largest_seeds"] if n == largest else [])]


def scaling_train_shards(wildcards):
    """The first training shards of the regime that hold `per_class` trajectories of every class. Checked
    here, not with the config: only the study needs its sizes to fit (other presets keep the paper's)."""
    per_shard = config["data"]["n_per_class"]["train"]
    needed = -(-int(wildcards.per_class) // per_shard)
    available = shards(wildcards.regime, "train")
    if needed > len(available):
        raise ValueError(f"config scaling.per_class {wildcards.per_class} needs {needed} {wildcards.regime} training "
                         f"shards of data.n_per_class.train {per_shard}, but data.regimes.{wildcards.regime}"
                         f".shards.train is {len(available)}")
    return available[:needed]


def preset_names():
    """The --configfile files of this run, relative to the workflow when they are inside it."""
    names = []
    for path in workflow.overwrite_configfiles or []:
        path = Path(path)
        try:
            names.append(str(path.resolve().relative_to(Path(workflow.basedir).resolve())))
        except ValueError:
            names.append(str(path))
    return names


def erasing_stem(positions, fill, regime=None):
    """Path of an erasing run's outputs without the extension: the zero fill (the paper's) keeps the names
    of before fills existed, erasing_{positions}; another fill adds its name, erasing_{positions}_{fill}.
    A run of another regime than the main one (``regime``) lies in a folder of that name."""
    folder = f"{regime}/" if regime else ""
    return f"results/explain/{folder}erasing_{positions}" + ("" if fill == "zero" else f"_{fill}")


def erasing_regime(wildcards):
    """The regime of an erasing job: named by its folder ({regimedir}), else the main one."""
    return wildcards.regimedir[:-1] or config["explain"]["erasing"]["regimes"][0]  # the folder without its slash


def page_tables(tables):
    """The --table arguments of render-page: one per (key, results table) of a results page."""
    return " ".join(f"--table {k} {shlex.quote(v)}" for k, v in tables.items())


def preset_args(wildcards):
    """The --preset arguments of render-page: the run's config files."""
    return " ".join(f"--preset {shlex.quote(p)}" for p in preset_names())


def page_params(rule, tables, suffix=""):
    """The params of docs_page and of each stage's page that reuses it: the page's tables, the run's config and
    presets, the page's run name (run_name, then ``suffix``) and the name of the page's own rule."""
    return {
        "tables": page_tables(tables),
        "config_json": json.dumps(config, sort_keys=True, default=str),
        "presets": preset_args,
        "name": config["run_name"] + suffix,
        "workdir": workflow.basedir,
        "rule": rule,
    }
