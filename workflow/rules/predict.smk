# Predict: classify your own 2-D tracks (CSV of localisations, TrackMate spots, AnDi .txt) with the
# main model, preprocessed exactly as the training data. Off unless config predict.input names a file:
# `snakemake --cores all predict --config predict='{input: my_tracks.csv}'` (or set it in a preset).

PREDICT_OUT = "results/predict/predictions.csv"
PREDICT_META = "results/predict/predictions.json"  # written by the command beside the CSV
PREDICT_GRADCAM = "results/predict/gradcam"
# For `all`: empty when no input is configured, so the default run never asks for it.
PREDICT_TARGETS = [PREDICT_OUT] if config["predict"]["input"] else []


rule predict:
    """Predictions for the tracks in config predict.input (named target: `snakemake predict`)."""
    input:
        tracks=predict_tracks,
        model=predict_model,
    output:
        csv=PREDICT_OUT,
        meta=PREDICT_META,
        **({"gradcam": directory(PREDICT_GRADCAM)} if config["predict"]["gradcam"] else {}),
    log:
        "logs/predict/predictions.log",
    params:
        options=predict_options(),
    threads: 1
    # On the CPU by default (config predict.device): a few thousand tracks per second on one core, and the
    # Grad-CAM figures dominate. Any other device may take a GPU, so the job then claims one.
    resources:
        gpu=gpu_claim(config["predict"]["device"]),
    conda:
        CPU_ENV if config["predict"]["device"] == "cpu" else GPU_ENV
    shell:
        "python -m andicam predict --model {input.model:q} --input {input.tracks:q} --out {output.csv}"
        " {params.options} > {log} 2>&1"
