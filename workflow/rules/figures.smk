# Figures of the foundation stage. Each figure is a named target: `snakemake fig_<name>`.

FIGURES = ["results/figures/dataset_overview.pdf"]


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
        "{ANDICAM} plot-dataset-overview --data {input} --out {output.pdf} --out-csv {output.table} > {log} 2>&1"
