# Beyond the paper: a noise-robust classifier for real tracks. One model per (regime, seed) at the main
# depth, trained like `train` but with fresh localisation noise per trajectory and epoch (andicam.robust);
# the same evaluation; one noise/length comparison with the paper's noiseless models; the bias table of
# the per-track noise estimate that `predict` reports. Named target: `snakemake robust_models`.

ROBUST = config["robust"]


rule train_robust:
    """One noise-robust classifier; resumes from its checkpoint like `train`."""
    input:
        train=lambda w: shards(w.regime, "train"),
        val=lambda w: shards(w.regime, "val"),
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
        master=config["seed"],
        depth=MAIN_DEPTH,
        width=config["model"]["width"],
        epochs=ROBUST["epochs"] or TRAIN["epochs"],
        patience=ROBUST["patience"] or TRAIN["patience"],
        options=train_options(),
        noise=f"--noise-min {ROBUST['noise'][0]} --noise-max {ROBUST['noise'][1]} --noise-clean {ROBUST['clean']}"
              + (" --rotate" if ROBUST["rotate"] else " --no-rotate"),
    threads: 2
    resources:
        runtime=minutes(720),
        gpu=1,
        mem_mb=16000,
    conda:
        GPU_ENV
    shell:
        "python -m andicam train --train {input.train} --val {input.val} --out-model {output.model}"
        " --out-metrics {output.metrics} --out-history {output.history} --checkpoint {params.checkpoint}"
        " --seed {wildcards.seed} --master-seed {params.master} --tag regime={wildcards.regime} --tag kind=robust"
        " --depth {params.depth} --width {params.width} --epochs {params.epochs} --patience {params.patience}"
        " {params.options} {params.noise} --threads {threads} > {log} 2>&1"


rule evaluate_robust:
    """The robust model's noiseless test predictions and metrics, as `evaluate` does for the paper's."""
    input:
        model="results/robust/models/{regime}/seed{seed}/model.pt",
        data=lambda w: shards(w.regime, "test"),
    output:
        predictions="results/robust/eval/{regime}/seed{seed}/predictions.csv",
        metrics="results/robust/eval/{regime}/seed{seed}/metrics.json",
    log:
        "logs/robust/eval/{regime}/seed{seed}.log",
    params:
        device=TRAIN["device"],
    threads: 2
    resources:
        runtime=minutes(60),
        gpu=1,
        mem_mb=8000,
    conda:
        GPU_ENV
    shell:
        "python -m andicam evaluate --model {input.model} --data {input.data} --out-predictions {output.predictions}"
        " --out-metrics {output.metrics} --device {params.device} --threads {threads} > {log} 2>&1"


rule robust_noise_eval:
    """Noiseless (paper) and robust models of every training seed on the same noisy test inputs."""
    input:
        noiseless=lambda w: [f"{run_dir('models', w.regime, MAIN_DEPTH, s)}/model.pt" for s in TRAIN["seeds"]],
        robust=lambda w: [f"{robust_run('models', w.regime, s)}/model.pt" for s in TRAIN["seeds"]],
        data=lambda w: shards(w.regime, "test"),
    output:
        "results/robust/noise_{regime}.csv",
    log:
        "logs/robust/noise_{regime}.log",
    params:
        kinds=" ".join(["noiseless"] * len(TRAIN["seeds"]) + ["robust"] * len(TRAIN["seeds"])),
        seeds=" ".join(map(str, list(TRAIN["seeds"]) * 2)),
        sigmas=" ".join(map(str, ROBUST["sigmas"])),
        edges=" ".join(map(str, ROBUST["length_edges"])),
        master=config["seed"],
        device=TRAIN["device"],
    threads: 2
    resources:
        runtime=minutes(120),
        gpu=1,
        mem_mb=16000,
    conda:
        GPU_ENV
    shell:
        "python -m andicam robust-eval --models {input.noiseless} {input.robust} --kinds {params.kinds}"
        " --seeds {params.seeds} --data {input.data} --sigmas {params.sigmas} --length-edges {params.edges}"
        " --seed {params.master} --tag {wildcards.regime} --device {params.device} --threads {threads}"
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
        [f"{robust_run(kind, r, s)}/{name}" for r in REGIMES for s in TRAIN["seeds"]
         for kind, name in (("models", "model.pt"), ("eval", "metrics.json"))],
        expand("results/tables/noise_estimator_bias_{regime}.csv", regime=REGIMES),


FIGURES += ["results/figures/noise_robustness.pdf"]
ROBUST_TABLES = expand("results/tables/noise_estimator_bias_{regime}.csv", regime=REGIMES)
