# Stage 1: simulate the eight classes, one job per (regime, split, shard), and the dataset figure.


rule simulate:
    output:
        "results/data/{regime}/{split}/shard{shard}.h5",
    log:
        "logs/data/{regime}/{split}/shard{shard}.log",
    benchmark:
        "results/benchmarks/data/{regime}/{split}/shard{shard}.tsv"
    params:
        seed=config["seed"],
        lengths=lambda w: config["data"]["regimes"][w.regime],
        n=lambda w: config["data"]["n_per_class"][w.split],
        alpha_sub=" ".join(map(str, config["data"]["alpha_sub"])),
        alpha_sup=" ".join(map(str, config["data"]["alpha_sup"])),
    threads: 1
    resources:
        runtime=minutes(240),
        mem_mb=4000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam simulate --regime {wildcards.regime} --split {wildcards.split} --shard {wildcards.shard}"
        " --master-seed {params.seed} --n-per-class {params.n}"
        " --min-length {params.lengths[min_length]} --max-length {params.lengths[max_length]}"
        " --alpha-sub {params.alpha_sub} --alpha-sup {params.alpha_sup} --out {output} > {log} 2>&1"


rule data:
    """All simulated shards (named target: `snakemake data`)."""
    input:
        [shards(r, s) for r in REGIMES for s in ("train", "val", "test")],


rule fig_dataset_overview:
    input:
        shards("fixed", "train")[0],
    output:
        pdf=report("results/figures/dataset_overview.pdf", caption=caption("dataset_overview"), category="Data"),
        png="results/figures/dataset_overview.png",
        table="results/tables/msd_exponents.csv",
    log:
        "logs/figures/dataset_overview.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot dataset_overview --data {input} --out {output.pdf} --out-csv {output.table} > {log} 2>&1"


FIGURES += ["results/figures/dataset_overview.pdf"]
