# Beyond the paper: a noise-robust classifier for real tracks. One model per (regime, seed) at the main
# depth, trained like `train` but with fresh localisation noise per trajectory and epoch (andicam.noise);
# the same evaluation; one noise/length comparison with the paper's noiseless models; the bias table of
# the per-track noise estimate that `predict` reports. Named target: `snakemake robust_models`.

ROBUST = config["robust"]
ROBUST_SEEDS = robust_seeds(config)  # the first robust.n_seeds training seeds (all if null)


# One noise-robust classifier; resumes from its checkpoint like `train`.
use rule train as train_robust with:
    output:
        model="results/robust/models/{regime}/seed{seed}/model.pt",
        metrics="results/robust/models/{regime}/seed{seed}/metrics.json",
        history="results/robust/models/{regime}/seed{seed}/history.csv",
    log:
        "logs/robust/models/{regime}/seed{seed}.log",
    benchmark:
        "results/benchmarks/robust/models/{regime}/seed{seed}.tsv"
    params:
        checkpoint="checkpoints/robust/{regime}/seed{seed}.pt",
        depth=MAIN_DEPTH,
        epochs=ROBUST["epochs"] or TRAIN["epochs"],
        patience=ROBUST["patience"] or TRAIN["patience"],
        tags=" --tag kind=robust",
        extra=f" --noise-min {ROBUST['noise'][0]} --noise-max {ROBUST['noise'][1]} --noise-clean {ROBUST['clean']}"
              + (" --rotate" if ROBUST["rotate"] else " --no-rotate"),


# The robust model's noiseless test predictions and metrics, as `evaluate` does for the paper's.
use rule evaluate as evaluate_robust with:
    input:
        model="results/robust/models/{regime}/seed{seed}/model.pt",
        data=lambda w: shards(w.regime, "test"),
    output:
        predictions="results/robust/eval/{regime}/seed{seed}/predictions.csv",
        metrics="results/robust/eval/{regime}/seed{seed}/metrics.json",
    log:
        "logs/robust/eval/{regime}/seed{seed}.log",


rule robust_noise_eval:
    """Noiseless (paper) and robust models of every robust seed (robust.n_seeds) on the same noisy test inputs."""
    input:
        noiseless=lambda w: [f"{run_dir('models', w.regime, MAIN_DEPTH, s)}/model.pt" for s in ROBUST_SEEDS],
        robust=lambda w: [f"{robust_run('models', w.regime, s)}/model.pt" for s in ROBUST_SEEDS],
        data=lambda w: shards(w.regime, "test", ROBUST["test_shards"]),
    output:
        "results/robust/noise_{regime}.csv",
    log:
        "logs/robust/noise_{regime}.log",
    params:
        kinds=" ".join(["noiseless"] * len(ROBUST_SEEDS) + ["robust"] * len(ROBUST_SEEDS)),
        seeds=" ".join(map(str, ROBUST_SEEDS * 2)),
        sigmas=" ".join(map(str, ROBUST["sigmas"])),
        amp=NOISE_AMP,
        edges=" ".join(map(str, ROBUST["length_edges"])),
        master=config["seed"],
        device=TRAIN["device"],
    threads: 2
    resources:
        runtime=minutes(120),
        gpu=gpu_claim(TRAIN["device"]),
        mem_mb=16000,
    conda:
        GPU_ENV
    shell:
        "python -m andicam robust-eval --models {input.noiseless} {input.robust} --kinds {params.kinds}"
        " --seeds {params.seeds} --data {input.data} --sigmas {params.sigmas} --length-edges {params.edges}"
        " --seed {params.master} --tag {wildcards.regime} {params.amp} --device {params.device} --threads {threads}"
        " --out {output} > {log} 2>&1"


rule noise_estimator_bias:
    """How `predict`'s per-track noise estimate reads known noise, per class, on simulated test tracks."""
    input:
        lambda w: shards(w.regime, "test"),
    output:
        "results/tables/noise_estimator_bias_{regime}.csv",
    log:
        "logs/robust/noise_estimator_bias_{regime}.log",
    params:
        sigmas=" ".join(map(str, ROBUST["estimator_sigmas"])),
        master=config["seed"],
    threads: 1
    resources:
        runtime=minutes(30),
        mem_mb=8000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam noise-bias --data {input} --sigmas {params.sigmas} --seed {params.master}"
        " --tag {wildcards.regime} --out {output} > {log} 2>&1"


rule fig_noise_robustness:
    input:
        expand("results/robust/noise_{regime}.csv", regime=REGIMES),
    output:
        pdf=report("results/figures/noise_robustness.pdf", caption=caption("noise_robustness"),
                   category="Noise-robust classifier"),
        png="results/figures/noise_robustness.png",
        table="results/tables/noise_robustness.csv",
    log:
        "logs/figures/noise_robustness.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot noise_robustness --tables {input} --out-csv {output.table} --out {output.pdf}"
        " > {log} 2>&1"


rule robust_models:
    """Every noise-robust classifier, its evaluation, and the noise estimator's bias (named target)."""
    input:
        [f"{robust_run(kind, r, s)}/{name}" for r in REGIMES for s in ROBUST_SEEDS
         for kind, name in (("models", "model.pt"), ("eval", "metrics.json"))],
        expand("results/tables/noise_estimator_bias_{regime}.csv", regime=REGIMES),


FIGURES += ["results/figures/noise_robustness.pdf"]
ROBUST_TABLES = expand("results/tables/noise_estimator_bias_{regime}.csv", regime=REGIMES)
