# Beyond the paper: the scaling study. Test accuracy of the classifier against training size, width and epochs
# (config `scaling`), to find the cheapest way to the paper's accuracy. Not part of `all`; named targets
# `scaling` (the table) and `fig_scaling`:  snakemake --cores all fig_scaling --configfile presets/scaling.yaml

SCALING = config["scaling"]


wildcard_constraints:
    per_class=r"\d+",
    width=r"\d+",
    epochs=r"\d+",


# One model of the grid, on the first `per_class` trajectories of each class. Every epoch runs (patience =
# epochs); the best epoch by validation loss is kept, as in `train`.
use rule train as scaling_train with:
    input:
        train=scaling_train_shards,
        val=lambda w: shards(w.regime, "val"),
    output:
        model="results/scaling/{regime}/n{per_class}/depth{depth}/width{width}/epochs{epochs}/seed{seed}/model.pt",
        metrics="results/scaling/{regime}/n{per_class}/depth{depth}/width{width}/epochs{epochs}/seed{seed}/metrics.json",
        history="results/scaling/{regime}/n{per_class}/depth{depth}/width{width}/epochs{epochs}/seed{seed}/history.csv",
    log:
        "logs/scaling/{regime}/n{per_class}/depth{depth}/width{width}/epochs{epochs}/seed{seed}.log",
    benchmark:
        "results/benchmarks/scaling/{regime}/n{per_class}/depth{depth}/width{width}/epochs{epochs}/seed{seed}.tsv"
    params:
        checkpoint="checkpoints/scaling/{regime}/n{per_class}/depth{depth}/width{width}/epochs{epochs}/seed{seed}.pt",
        width="{width}",
        epochs="{epochs}",
        patience="{epochs}",
        options=train_options(SCALING["lr"], SCALING["schedule"]),
        select=" --per-class {per_class}",
        tags=" --tag per_class={per_class}",
    resources:
        runtime=minutes(240),
        gpu=gpu_claim(TRAIN["device"]),
        mem_mb=16000,


# Test accuracy of one model of the grid on the first `test_shards` test shards of its regime.
use rule evaluate as scaling_evaluate with:
    input:
        model="results/scaling/{regime}/n{per_class}/depth{depth}/width{width}/epochs{epochs}/seed{seed}/model.pt",
        data=lambda w: shards(w.regime, "test", SCALING["test_shards"]),
    output:
        predictions="results/scaling/{regime}/n{per_class}/depth{depth}/width{width}/epochs{epochs}/seed{seed}/predictions.csv",
        metrics="results/scaling/{regime}/n{per_class}/depth{depth}/width{width}/epochs{epochs}/seed{seed}/eval.json",
    log:
        "logs/scaling/{regime}/n{per_class}/depth{depth}/width{width}/epochs{epochs}/seed{seed}.eval.log",


rule scaling:
    """The study's table: one row per model, and per grid point the mean over seeds and the gap to the paper."""
    input:
        train=scaling_runs("metrics.json"),
        eval=scaling_runs("eval.json"),
    output:
        csv="results/tables/scaling.csv",
        summary=report("results/tables/scaling_summary.csv", caption=caption("scaling"), category="Scaling"),
        md="results/tables/scaling.md",
    log:
        "logs/tables/scaling.log",
    threads: 1
    resources:
        runtime=minutes(10),
        mem_mb=2000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam scaling-table --train-metrics {input.train} --eval-metrics {input.eval}"
        " --out-csv {output.csv} --out-summary {output.summary} --out-md {output.md} > {log} 2>&1"


rule fig_scaling:
    input:
        "results/tables/scaling.csv",
    output:
        pdf=report("results/figures/scaling.pdf", caption=caption("scaling"), category="Scaling"),
        png="results/figures/scaling.png",
    log:
        "logs/figures/scaling.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot scaling --table {input} --out {output.pdf} > {log} 2>&1"
