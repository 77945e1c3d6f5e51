# Beyond the paper: the AnDi 2020 challenge's Task 2 (which of five models made a track) in 2-D as a benchmark,
# generated locally with the challenge's own recipe (andicam.andi2020), seeded; and a classifier of the same
# network family trained on that distribution. Named target: `snakemake andi2020`.

ANDI = config["andi2020"]
ANDI_TRAIN = ANDI["train"]
# Paths of its files and models: andi_shards, andi_scored (common.smk).


rule andi2020_data:
    """One file of Task 2 tracks and its labels (model, alpha, length, noise level, coefficient)."""
    output:
        data="results/andi2020/data/{split}/shard{shard}.h5",
        ref="results/andi2020/data/{split}/shard{shard}.csv",
    log:
        "logs/andi2020/data/{split}/shard{shard}.log",
    benchmark:
        "results/benchmarks/andi2020/data/{split}/shard{shard}.tsv"
    params:
        seed=config["seed"],
        n=lambda w: ANDI["test_n"] if w.split == "test" else ANDI_TRAIN["n"][w.split],
    threads: 1
    resources:
        runtime=minutes(120),
        mem_mb=8000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam andi2020-data --split {wildcards.split} --shard {wildcards.shard}"
        " --master-seed {params.seed} --n {params.n} --out {output.data} --ref {output.ref} > {log} 2>&1"


# The five-model classifier: `train`'s command on the Task 2 files (tagged regime=andi2020), with andi2020.train's
# epochs, lr and schedule.
use rule train as train_andi2020 with:
    input:
        train=andi_shards("train"),
        val=andi_shards("val"),
    output:
        model="results/andi2020/models/seed{seed}/model.pt",
        metrics="results/andi2020/models/seed{seed}/metrics.json",
        history="results/andi2020/models/seed{seed}/history.csv",
    log:
        "logs/andi2020/models/seed{seed}.log",
    benchmark:
        "results/benchmarks/andi2020/models/seed{seed}.tsv"
    params:
        checkpoint="checkpoints/andi2020/seed{seed}.pt",
        master=config["seed"],
        depth=MAIN_DEPTH,
        width=config["model"]["width"],
        epochs=ANDI_TRAIN["epochs"],
        patience=ANDI_TRAIN["epochs"],
        options=train_options(ANDI_TRAIN["lr"], ANDI_TRAIN["schedule"]),
        select="",
        regime="andi2020",
        tags=" --tag kind=andi2020",
        extra=f" --noise-min {ANDI_TRAIN['noise'][0]} --noise-max {ANDI_TRAIN['noise'][1]} --noise-clean 0"
              + (" --rotate" if ANDI_TRAIN["rotate"] else " --no-rotate"),


rule andi2020_score:
    """Micro-F1 (the challenge's metric) of every scored classifier on the benchmark set."""
    input:
        data=andi_shards("test")[0],
        ref=andi_shards("test")[0].replace(".h5", ".csv"),
        models=[path for _, path in andi_scored()],
    output:
        scores="results/tables/andi2020_scores.csv",
        confusion="results/tables/andi2020_confusion.csv",
    log:
        "logs/andi2020/score.log",
    params:
        names=" ".join(name for name, _ in andi_scored()),
        device=TRAIN["device"],
    threads: 2
    resources:
        runtime=minutes(60),
        gpu=gpu_claim(TRAIN["device"]),
        mem_mb=8000,
    conda:
        GPU_ENV
    shell:
        "python -m andicam andi2020-score --data {input.data} --ref {input.ref} --models {input.models}"
        " --names {params.names} --out {output.scores} --confusion {output.confusion}"
        " --device {params.device} --threads {threads} > {log} 2>&1"


rule fig_andi2020:
    input:
        scores="results/tables/andi2020_scores.csv",
        confusion="results/tables/andi2020_confusion.csv",
    output:
        pdf=report("results/figures/andi2020.pdf", caption=caption("andi2020"), category="AnDi 2020 benchmark"),
        png="results/figures/andi2020.png",
    log:
        "logs/figures/andi2020.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot andi2020 --scores {input.scores} --confusion {input.confusion} --out {output.pdf}"
        " > {log} 2>&1"


# The benchmark's own results page, for runs that build only this target (`all` puts the same table in the run's
# page, rule docs_page).
use rule docs_page as andi2020_page with:
    input:
        andi2020_scores="results/tables/andi2020_scores.csv",
    output:
        page=f"docs/runs/{config['run_name']}-andi2020.md",
        record=f"docs/runs/{config['run_name']}-andi2020.json",
    log:
        "logs/tables/andi2020_page.log",
    params:
        **page_params("andi2020_page", {"andi2020_scores": "results/tables/andi2020_scores.csv"}, "-andi2020"),


rule andi2020:
    """The AnDi 2020 Task 2 benchmark: data, the five-model classifier(s), scores, figure and page (named target)."""
    input:
        rules.fig_andi2020.output,
        rules.andi2020_page.output,


FIGURES += ["results/figures/andi2020.pdf"]
