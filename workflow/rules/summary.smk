# Stage 6: the results summary, this run's headline numbers beside the paper's (METHODS §6), with the seeds
# and 95 % intervals each rests on. Reads the outputs of train.smk (evaluations), explain.smk (erasing),
# relevance.smk (block heads, train correlations, feature ablation) and augment.smk (summary). Named target: `snakemake summary`.
# Then the verdict per claim of the paper (`snakemake claims`, figure `fig_claims`).


# The explaining outputs a summary reads, of the main model or of an explain.more_seeds one ({explained} folder).
EXPLAINING_INPUTS = dict(
    erasing=explained(ERASING_TABLES),
    erasing_correctness=explained(ERASING_CORRECTNESS),
    erasing_fills=explained(ERASING_FILL_TABLES),
    erasing_fills_correctness=explained(ERASING_FILL_CORRECTNESS),
    blocks=explained(["results/blocks/accuracy.csv"]),
    relevance=explained(["results/relevance/train.csv"]),
    ablation=explained(["results/ablation/transplants.csv"]),
    response=explained(["results/explain/layer_response.h5"]),
)


rule summary:
    """Headline results table (CSV and markdown): accuracy, recall, confusion, erasing, block heads,
    augmentation and the strongest correlations, each beside the paper's value. Asked for in
    results/seed<s>/tables/, the same for the model of an explain.more_seeds seed."""
    input:
        metrics=summary_metrics,
        **EXPLAINING_INPUTS,
        augment=augment_summaries()[0],
    output:
        csv=report("results/{explained}tables/summary.csv", caption="../report/summary.rst", category="Summary"),
        md=report("results/{explained}tables/summary.md", caption="../report/summary.rst", category="Summary"),
    log:
        "logs/{explained}tables/summary.log",
    params:
        depth=config["model"]["main_depth"],
        main_seed=explained_seed,
        stage=config["explain"]["erasing"]["stage"],
        master=config["seed"],
        name=config["run_name"],
        draws=" ".join(augment_summaries()[1]),
    threads: 1
    resources:
        runtime=minutes(10),
        mem_mb=2000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam summarize --eval-metrics {input.metrics} --erasing {input.erasing}"
        " --erasing-correctness {input.erasing_correctness}"
        " --erasing-fills {input.erasing_fills} --erasing-fills-correctness {input.erasing_fills_correctness}"
        " --blocks {input.blocks} --augment {input.augment} --augment-draws {params.draws}"
        " --relevance {input.relevance}"
        " --ablation {input.ablation} --response {input.response}"
        " --main-depth {params.depth} --main-seed {params.main_seed} --erasing-stage {params.stage}"
        " --seed {params.master} --run-name {params.name:q} --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"


MORE_SEEDS = config["explain"]["more_seeds"]


rule model_spread:
    """The explaining results of every explained model (the main one, then explain.more_seeds) side by side,
    with their mean and spread: what another training seed would change. It reads each model's explaining rows
    (explain_summary), so it needs no model but the explained ones. Named target: `snakemake model_spread`."""
    input:
        ["results/tables/explain_summary.csv"] + [f"results/seed{s}/tables/explain_summary.csv" for s in MORE_SEEDS],
    output:
        csv="results/tables/explained_seeds.csv",
        md=report("results/tables/explained_seeds.md", caption="../report/summary.rst", category="Summary"),
    log:
        "logs/tables/explained_seeds.log",
    params:
        seeds=" ".join(map(str, [config["train"]["seeds"][0], *MORE_SEEDS])),
        name=config["run_name"],
    threads: 1
    resources:
        runtime=minutes(10),
        mem_mb=2000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam model-spread --summaries {input} --seeds {params.seeds} --run-name {params.name:q}"
        " --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"


rule claims:
    """One verdict per claim of the paper (reproduced, undecided, contradicted, not comparable, not run): this
    run's 95 % interval against the paper's value plus or minus a margin per unit (andicam.claims states the
    rule). Named target: `snakemake claims`."""
    input:
        "results/tables/summary.csv",
    output:
        csv="results/tables/claims.csv",
        md=report("results/tables/claims.md", caption=caption("claims"), category="Summary"),
    log:
        "logs/tables/claims.log",
    params:
        master=config["seed"],
        name=config["run_name"],
    threads: 1
    resources:
        runtime=minutes(10),
        mem_mb=2000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam claims --summary {input} --seed {params.master} --run-name {params.name:q}"
        " --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"


# The augmentation experiment on its own: its summary rows and claims, for runs that build only that stage (the
# full run's summary and claims hold the same rows). Named target: `snakemake augment_page`.
rule augment_summary:
    input:
        augment_summaries()[0],
    output:
        csv="results/tables/augment_summary.csv",
        md="results/tables/augment_summary.md",
    log:
        "logs/tables/augment_summary.log",
    params:
        master=config["seed"],
        name=config["run_name"],
        draws=" ".join(augment_summaries()[1]),
    threads: 1
    resources:
        runtime=minutes(10),
        mem_mb=2000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam summarize --augment {input} --augment-draws {params.draws} --seed {params.master}"
        " --run-name {params.name:q} --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"


use rule claims as augment_claims with:
    input:
        "results/tables/augment_summary.csv",
    output:
        csv="results/tables/augment_claims.csv",
        md="results/tables/augment_claims.md",
    log:
        "logs/tables/augment_claims.log",


# The explaining part on its own (erasing, block heads, correlations, feature ablation, layer response of the main
# model): its summary rows and claims, for runs that have explained the main model before training every model
# the full summary reads. Named target: `snakemake explain_page`.
rule explain_summary:
    """The summary's explaining rows alone, of the main model or (results/seed<s>/tables/) of an
    explain.more_seeds model."""
    input:
        **EXPLAINING_INPUTS,
    output:
        csv="results/{explained}tables/explain_summary.csv",
        md="results/{explained}tables/explain_summary.md",
    log:
        "logs/{explained}tables/explain_summary.log",
    params:
        stage=config["explain"]["erasing"]["stage"],
        master=config["seed"],
        name=config["run_name"],
    threads: 1
    resources:
        runtime=minutes(10),
        mem_mb=2000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam summarize --erasing {input.erasing} --erasing-correctness {input.erasing_correctness}"
        " --erasing-fills {input.erasing_fills} --erasing-fills-correctness {input.erasing_fills_correctness}"
        " --blocks {input.blocks} --relevance {input.relevance} --ablation {input.ablation}"
        " --response {input.response} --erasing-stage {params.stage} --seed {params.master}"
        " --run-name {params.name:q} --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"


use rule claims as explain_claims with:
    input:
        "results/tables/explain_summary.csv",
    output:
        csv="results/tables/explain_claims.csv",
        md="results/tables/explain_claims.md",
    log:
        "logs/tables/explain_claims.log",


rule fig_claims:
    input:
        "results/tables/claims.csv",
    output:
        pdf=report("results/figures/claims.pdf", caption=caption("claims"), category="Summary"),
        png="results/figures/claims.png",
    log:
        "logs/figures/claims.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot claims --claims {input} --out {output.pdf} > {log} 2>&1"


FIGURES += ["results/figures/claims.pdf"]


PAGE_TABLES = {
    "summary": "results/tables/summary.csv",
    "claims": "results/tables/claims.csv",
    "accuracy_vs_depth": "results/tables/accuracy_vs_depth.csv",
    "noise_robustness": "results/tables/noise_robustness.csv",
    **{f"noise_estimator_bias_{r}": f"results/tables/noise_estimator_bias_{r}.csv" for r in REGIMES},
    "msd_exponents": "results/tables/msd_exponents.csv",
    "andi2020_scores": "results/tables/andi2020_scores.csv",
    "explained_seeds": "results/tables/explained_seeds.csv",
    "erasing_curves": "results/tables/erasing_curves.csv",
}
AUGMENT_PAGE_TABLES = {
    **{f"augment_{r}": f"results/augment/{r}/summary.csv" for r in AUG_REGIMES},
    **{f"augment_overlap_{r}": f"results/augment/{r}/selection_overlap.csv" for r in AUG_REGIMES},
}
PAGE_TABLES.update(AUGMENT_PAGE_TABLES)


rule docs_page:
    """This run's results page in docs/runs/, rendered from a record of its tables: the numbers the docs cite
    are written here, never typed. Named target: `snakemake docs_page`."""
    input:
        **PAGE_TABLES,
    output:
        page=f"docs/runs/{config['run_name']}.md",
        record=f"docs/runs/{config['run_name']}.json",
    log:
        "logs/tables/docs_page.log",
    params:
        **page_params("docs_page", PAGE_TABLES),
    threads: 1
    resources:
        runtime=minutes(10),
        mem_mb=2000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam render-page {params.tables} --run-name {params.name:q} --rule {params.rule}"
        " --config-json {params.config_json:q}"
        " {params.presets} --benchmarks results/benchmarks --workdir {params.workdir:q}"
        " --out-record {output.record} --out-page {output.page} > {log} 2>&1"


# The augmentation's own results page (docs/runs/<run>-augment.md): its summary rows, claims, every arm at every
# noise level, the pools' overlap and the run's timings, for runs that build only that stage. Named target.
AUGMENT_ONLY_TABLES = {"augment_summary": "results/tables/augment_summary.csv",
                       "augment_claims": "results/tables/augment_claims.csv", **AUGMENT_PAGE_TABLES}


use rule docs_page as augment_page with:
    input:
        **AUGMENT_ONLY_TABLES,
    output:
        page=f"docs/runs/{config['run_name']}-augment.md",
        record=f"docs/runs/{config['run_name']}-augment.json",
    log:
        "logs/tables/augment_page.log",
    params:
        **page_params("augment_page", AUGMENT_ONLY_TABLES, "-augment"),


# The explaining part's own results page (docs/runs/<run>-explain.md): its summary rows and claims and every erasing
# run, for runs that have explained the main model but not yet trained all the models `all` needs. Named target.
EXPLAIN_ONLY_TABLES = {"explain_summary": "results/tables/explain_summary.csv",
                       "explain_claims": "results/tables/explain_claims.csv",
                       "erasing_curves": "results/tables/erasing_curves.csv",
                       "explained_seeds": "results/tables/explained_seeds.csv"}


use rule docs_page as explain_page with:
    input:
        **EXPLAIN_ONLY_TABLES,
    output:
        page=f"docs/runs/{config['run_name']}-explain.md",
        record=f"docs/runs/{config['run_name']}-explain.json",
    log:
        "logs/tables/explain_page.log",
    params:
        **page_params("explain_page", EXPLAIN_ONLY_TABLES, "-explain"),
