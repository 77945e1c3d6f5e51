# Predict: classify your own 2-D tracks (CSV of localisations, TrackMate spots, AnDi .txt) with the
# main model, preprocessed exactly as the training data. Off unless config predict.input names a file:
# `snakemake --cores all predict --config predict='{input: my_tracks.csv}'` (or set it in a preset).

PREDICT_OUT = "results/predict/predictions.csv"
PREDICT_GRADCAM = "results/predict/gradcam"
# For `all`: empty when no input is configured, so the default run never asks for it.
PREDICT_TARGETS = [PREDICT_OUT] if config["predict"]["input"] else []


def predict_tracks(wildcards):
    if not config["predict"]["input"]:
        raise ValueError("rule predict needs config predict.input: the tracks file (CSV or AnDi .txt) to classify")
    return config["predict"]["input"]


def predict_model(wildcards):
    """The configured model file, else the main model of the configured length regime."""
    cfg = config["predict"]
    if cfg["model"]:
        return cfg["model"]
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


rule predict:
    """Predictions for the tracks in config predict.input (named target: `snakemake predict`)."""
    input:
        tracks=predict_tracks,
        model=predict_model,
    output:
        csv=PREDICT_OUT,
        **({"gradcam": directory(PREDICT_GRADCAM)} if config["predict"]["gradcam"] else {}),
    log:
        "logs/predict/predictions.log",
    params:
        options=predict_options(),
    threads: 1
    # No gpu resource: a few thousand tracks per second on one CPU core, and Grad-CAM figures dominate.
    conda:
        CPU_ENV
    shell:
        "{ANDICAM} predict --model {input.model:q} --input {input.tracks:q} --out {output.csv}"
        " {params.options} > {log} 2>&1"
