# Stage 2: train the classifiers (one job per regime x depth x seed), evaluate each on its regime's test
# shards, and draw the classifier figures (METHODS §2, §4). Named targets: `snakemake models`, `evaluations`.

TRAIN = config["train"]
MAIN_DEPTH = config["model"]["main_depth"]
MAIN_SEED = config["train"]["seeds"][0]


# Every training job of the workflow runs this rule's command: train_robust, augment_train and scaling_train are
# `use rule train ... with:` and change what they train on, where it goes, and the params. select, tags and
# extra (empty here) are the options they add after --master-seed (which data), after the regime tag, and after
# the common options (e.g. the noise of robust training).
rule train:
    """One classifier. Interrupted, it resumes from its checkpoint (kept outside results/ so that Snakemake
    never deletes it with the incomplete outputs)."""
    input:
        train=lambda w: shards(w.regime, "train"),
        val=lambda w: shards(w.regime, "val"),
    output:
        model="results/models/{regime}/depth{depth}/seed{seed}/model.pt",
        metrics="results/models/{regime}/depth{depth}/seed{seed}/metrics.json",
        history="results/models/{regime}/depth{depth}/seed{seed}/history.csv",
    log:
        "logs/models/{regime}/depth{depth}/seed{seed}.log",
    benchmark:
        "results/benchmarks/models/{regime}/depth{depth}/seed{seed}.tsv"
    params:
        checkpoint="checkpoints/models/{regime}/depth{depth}/seed{seed}.pt",
        master=config["seed"],
        depth="{depth}",
        width=config["model"]["width"],
        epochs=TRAIN["epochs"],
        patience=TRAIN["patience"],
        options=train_options(),
        select="",
        regime="{regime}",
        tags="",
        extra="",
    threads: TRAIN["threads"]
    resources:
        runtime=minutes(720),
        gpu=gpu_claim(TRAIN["device"]),
        mem_mb=16000,
    conda:
        GPU_ENV
    shell:
        "python -m andicam train --train {input.train} --val {input.val} --out-model {output.model}"
        " --out-metrics {output.metrics} --out-history {output.history} --checkpoint {params.checkpoint}"
        " --seed {wildcards.seed} --master-seed {params.master}{params.select}"
        " --tag regime={params.regime}{params.tags}"
        " --depth {params.depth} --width {params.width} --epochs {params.epochs}"
        " --patience {params.patience} {params.options}{params.extra} --threads {threads} > {log} 2>&1"


# evaluate_robust and scaling_evaluate are `use rule evaluate ... with:` on other models and test shards.
rule evaluate:
    """Predictions (one row per test trajectory) and metrics of one classifier on its regime's test shards."""
    input:
        model="results/models/{regime}/depth{depth}/seed{seed}/model.pt",
        data=lambda w: shards(w.regime, "test"),
    output:
        predictions="results/eval/{regime}/depth{depth}/seed{seed}/predictions.csv",
        metrics="results/eval/{regime}/depth{depth}/seed{seed}/metrics.json",
    log:
        "logs/eval/{regime}/depth{depth}/seed{seed}.log",
    params:
        device=TRAIN["device"],
    threads: 2
    resources:
        runtime=minutes(60),
        gpu=gpu_claim(TRAIN["device"]),
        mem_mb=8000,
    conda:
        GPU_ENV
    shell:
        "python -m andicam evaluate --model {input.model} --data {input.data} --out-predictions {output.predictions}"
        " --out-metrics {output.metrics} --device {params.device} --threads {threads} > {log} 2>&1"


rule models:
    """Every classifier (named target)."""
    input:
        all_runs("models", "model.pt"),


rule evaluations:
    """Every classifier's test predictions and metrics (named target)."""
    input:
        all_runs("eval", "metrics.json"),


rule fig_confusion_variable:
    input:
        f"{run_dir('eval', 'variable', MAIN_DEPTH, MAIN_SEED)}/predictions.csv",
    output:
        pdf=report("results/figures/confusion_variable.pdf", caption=caption("confusion_variable"),
                   category="Classifier"),
        png="results/figures/confusion_variable.png",
    log:
        "logs/figures/confusion_variable.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot confusion_variable --predictions {input} --title 'variable length'"
        " --out {output.pdf} > {log} 2>&1"


rule fig_confusion_fixed:
    input:
        f"{run_dir('eval', 'fixed', MAIN_DEPTH, MAIN_SEED)}/predictions.csv",
    output:
        pdf=report("results/figures/confusion_fixed.pdf", caption=caption("confusion_fixed"), category="Classifier"),
        png="results/figures/confusion_fixed.png",
    log:
        "logs/figures/confusion_fixed.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot confusion_fixed --predictions {input} --title 'fixed length'"
        " --out {output.pdf} > {log} 2>&1"


rule fig_class_share_vs_alpha:
    input:
        f"{run_dir('eval', 'variable', MAIN_DEPTH, MAIN_SEED)}/predictions.csv",
    output:
        pdf=report("results/figures/class_share_vs_alpha.pdf", caption=caption("class_share_vs_alpha"),
                   category="Classifier"),
        png="results/figures/class_share_vs_alpha.png",
    log:
        "logs/figures/class_share_vs_alpha.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot class_share_vs_alpha --predictions {input}"
        " --title 'variable-length model, variable-length test set' --out {output.pdf} > {log} 2>&1"


rule fig_accuracy_vs_depth:
    input:
        all_runs("eval", "metrics.json"),
    output:
        pdf=report("results/figures/accuracy_vs_depth.pdf", caption=caption("accuracy_vs_depth"),
                   category="Classifier"),
        png="results/figures/accuracy_vs_depth.png",
        table="results/tables/accuracy_vs_depth.csv",
    log:
        "logs/figures/accuracy_vs_depth.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot accuracy_vs_depth --metrics {input} --out {output.pdf} --out-csv {output.table} > {log} 2>&1"


rule fig_training_curves:
    input:
        history=[f"{run_dir('models', r, MAIN_DEPTH, s)}/history.csv" for r in REGIMES for s in TRAIN["seeds"]],
        metrics=[f"{run_dir('models', r, MAIN_DEPTH, s)}/metrics.json" for r in REGIMES for s in TRAIN["seeds"]],
    output:
        pdf=report("results/figures/training_curves.pdf", caption=caption("training_curves"), category="Classifier"),
        png="results/figures/training_curves.png",
    log:
        "logs/figures/training_curves.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot training_curves --history {input.history} --metrics {input.metrics}"
        " --out {output.pdf} > {log} 2>&1"


CLASSIFIER_FIGURES = [
    f"results/figures/{name}.pdf"
    for name in ("confusion_variable", "confusion_fixed", "class_share_vs_alpha", "accuracy_vs_depth",
                 "training_curves")
]
FIGURES += CLASSIFIER_FIGURES
