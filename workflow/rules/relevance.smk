# Stage 5: statistical relevance of Grad-CAM, block-wise heads and feature ablation (METHODS §4), on the
# fixed-length regime (the window statistics need 1000 real steps). Uses the `gradcam` rule of explain.smk
# for the main model's maps, and explained_model() / gradcam_files() of common.smk. Like explain.smk's, every
# rule explains the main model, or (in results/seed<s>/, wildcard {explained}) that of an explain.more_seeds seed.
# Named target: `snakemake relevance`; each figure also by name (`snakemake fig_relevance_train`).
# Config: relevance.*, blocks.*, ablation.*, and explain.batch_size / explain.device for the networks.

from andicam.paper import PAPER_WINDOW  # the paper's layer4 window, also used at the block cuts beside ours

REL = config["relevance"]
BLOCKS = config["blocks"]
ABL = config["ablation"]
BLOCK_CUTS = ("layer1", "layer2", "layer3")
REL_STAGES = {"train": "layer4", "test": "layer1 layer2 layer3 layer4"}  # test also feeds relevance_layers


wildcard_constraints:
    cut="layer1|layer2|layer3",
    relsplit="train|test",


rule relevance_table:
    """Per-class correlations of the main model's Grad-CAM with the window statistics, on one split."""
    input:
        data=lambda w: shards("fixed", w.relsplit, REL["shards"][w.relsplit]),
        gradcam=lambda w: gradcam_files("fixed", w.relsplit, REL["shards"][w.relsplit], w.explained),
    output:
        "results/{explained}relevance/{relsplit}.csv",
    log:
        "logs/{explained}relevance/{relsplit}.log",
    benchmark:
        "results/benchmarks/{explained}relevance/{relsplit}.tsv"
    params:
        stages=lambda w: REL_STAGES[w.relsplit],
        windows=lambda w: window_options(REL_STAGES[w.relsplit]),
        master=config["seed"],
        n_boot=REL["n_boot"],
        spearman_ci=REL["spearman_ci"],
    threads: 1
    resources:
        runtime=minutes(120),
        mem_mb=8000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam relevance --data {input.data} --gradcam {input.gradcam} --stages {params.stages}"
        " {params.windows} --n-boot {params.n_boot} --spearman-ci {params.spearman_ci} --seed {params.master}"
        " --out {output} > {log} 2>&1"


rule block_heads:
    """Linear heads on merged labels after layer1/2/3 of the frozen fixed-length model; their Grad-CAM."""
    input:
        model=lambda w: explained_model("fixed", w),
        train=shards("fixed", "train", BLOCKS["train_shards"]),
        eval=shards("fixed", "test", BLOCKS["eval_shards"]),
    output:
        heads="results/{explained}blocks/heads.pt",
        accuracy="results/{explained}blocks/accuracy.csv",
        gradcam=[f"results/{{explained}}blocks/gradcam_{cut}.h5" for cut in BLOCK_CUTS],
    log:
        "logs/{explained}blocks/block_heads.log",
    benchmark:
        "results/benchmarks/{explained}blocks/block_heads.tsv"
    params:
        b=BLOCKS,
        cuts=" ".join(BLOCK_CUTS),
        master=config["seed"],
        batch=config["explain"]["batch_size"],
        device=config["explain"]["device"],
    threads: 2
    resources:
        runtime=minutes(120),
        gpu=gpu_claim(config["explain"]["device"]),
        mem_mb=8000,
    conda:
        GPU_ENV
    shell:
        "python -m andicam block-heads --model {input.model} --train {input.train} --eval {input.eval}"
        " --cuts {params.cuts} --out-heads {output.heads} --out-accuracy {output.accuracy}"
        " --out-gradcam {output.gradcam} --epochs {params.b[epochs]} --batch-size {params.b[batch_size]}"
        " --lr {params.b[lr]} --seed {params.master} --feature-batch-size {params.batch}"
        " --device {params.device} --threads {threads} > {log} 2>&1"


rule relevance_block:
    """Correlations of one block head's Grad-CAM with the statistics in windows matched to its stage."""
    input:
        data=shards("fixed", "test", BLOCKS["eval_shards"]),
        gradcam="results/{explained}blocks/gradcam_{cut}.h5",
    output:
        "results/{explained}blocks/relevance_{cut}.csv",
    log:
        "logs/{explained}blocks/relevance_{cut}.log",
    params:
        windows=lambda w: window_options(w.cut),
        master=config["seed"],
        n_boot=REL["n_boot"],
        spearman_ci=REL["spearman_ci"],
    threads: 1
    resources:
        runtime=minutes(60),
        mem_mb=8000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam relevance --data {input.data} --gradcam {input.gradcam} --stages {wildcards.cut}"
        " {params.windows} --n-boot {params.n_boot} --spearman-ci {params.spearman_ci} --seed {params.master}"
        " --out {output} > {log} 2>&1"


use rule relevance_block as relevance_block_paper_window with:
    """The same correlations in the paper's 225-step windows (its layer4 window) at every cut, beside ours whose
    windows match the cut's own positions."""
    output:
        "results/{explained}blocks/relevance_{cut}_paper_window.csv",
    log:
        "logs/{explained}blocks/relevance_{cut}_paper_window.log",
    params:
        windows=lambda w: f"--window {w.cut}={PAPER_WINDOW}",
        master=config["seed"],
        n_boot=REL["n_boot"],
        spearman_ci=REL["spearman_ci"],


rule ablation:
    """Window-transplant feature ablation (for, inverse, random control) on the fixed-length test set."""
    input:
        model=lambda w: explained_model("fixed", w),
        data=shards("fixed", "test", ABL["shards"]),
    output:
        results="results/{explained}ablation/results.csv",
        independence="results/{explained}ablation/independence.csv",
        transplants="results/{explained}ablation/transplants.csv",
    log:
        "logs/{explained}ablation/ablation.log",
    benchmark:
        "results/benchmarks/{explained}ablation/ablation.tsv"
    params:
        a=ABL,
        per_class=f"--per-class {ABL['per_class']}" if ABL["per_class"] else "",
        master=config["seed"],
        window=REL["windows"]["layer4"],
    # The statistics of the candidate transplants dominate (numpy, one core); the network is cheap,
    # so it runs on the CPU like its environment and never competes with a training for the GPU.
    threads: 1
    resources:
        runtime=minutes(240),
        mem_mb=8000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam ablation --model {input.model} --data {input.data} {params.per_class}"
        " --repeats {params.a[repeats]} --window {params.window}"
        " --min-distance {params.a[min_distance]} --seed {params.master} --out {output.results}"
        " --out-independence {output.independence} --out-transplants {output.transplants}"
        " --device cpu --threads {threads} > {log} 2>&1"


rule fig_relevance_train:
    input:
        "results/relevance/train.csv",
    output:
        pdf=report("results/figures/relevance_train.pdf", caption=caption("relevance_train"), category="Relevance"),
        png="results/figures/relevance_train.png",
    log:
        "logs/figures/relevance_train.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot relevance_train --relevance {input} --out {output.pdf} > {log} 2>&1"


rule fig_relevance_test:
    input:
        "results/relevance/test.csv",
    output:
        pdf=report("results/figures/relevance_test.pdf", caption=caption("relevance_test"), category="Relevance"),
        png="results/figures/relevance_test.png",
    log:
        "logs/figures/relevance_test.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot relevance_test --relevance {input} --out {output.pdf} > {log} 2>&1"


rule fig_relevance_layers:
    input:
        "results/relevance/test.csv",
    output:
        pdf=report("results/figures/relevance_layers.pdf", caption=caption("relevance_layers"), category="Relevance"),
        png="results/figures/relevance_layers.png",
    log:
        "logs/figures/relevance_layers.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot relevance_layers --relevance {input} --out {output.pdf} > {log} 2>&1"


rule fig_relevance_blocks:
    input:
        relevance=expand("results/blocks/relevance_{cut}.csv", cut=BLOCK_CUTS),
        accuracy="results/blocks/accuracy.csv",
    output:
        pdf=report("results/figures/relevance_blocks.pdf", caption=caption("relevance_blocks"), category="Relevance"),
        png="results/figures/relevance_blocks.png",
    log:
        "logs/figures/relevance_blocks.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot relevance_blocks --relevance {input.relevance} --accuracy {input.accuracy}"
        " --out {output.pdf} > {log} 2>&1"


use rule fig_relevance_blocks as fig_relevance_blocks_paper_window with:
    input:
        relevance=expand("results/blocks/relevance_{cut}_paper_window.csv", cut=BLOCK_CUTS),
        accuracy="results/blocks/accuracy.csv",
    output:
        pdf=report("results/figures/relevance_blocks_paper_window.pdf", caption=caption("relevance_blocks_paper_window"),
                   category="Relevance"),
        png="results/figures/relevance_blocks_paper_window.png",
    log:
        "logs/figures/relevance_blocks_paper_window.log",


rule fig_ablation_heatmap:
    input:
        "results/ablation/results.csv",
    output:
        pdf=report("results/figures/ablation_heatmap.pdf", caption=caption("ablation_heatmap"), category="Relevance"),
        png="results/figures/ablation_heatmap.png",
    log:
        "logs/figures/ablation_heatmap.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot ablation_heatmap --results {input} --out {output.pdf} > {log} 2>&1"


rule fig_ablation_top1:
    input:
        "results/ablation/results.csv",
    output:
        pdf=report("results/figures/ablation_top1.pdf", caption=caption("ablation_top1"), category="Relevance"),
        png="results/figures/ablation_top1.png",
    log:
        "logs/figures/ablation_top1.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot ablation_top1 --results {input} --out {output.pdf} > {log} 2>&1"


rule fig_ablation_independence:
    input:
        "results/ablation/independence.csv",
    output:
        pdf=report("results/figures/ablation_independence.pdf", caption=caption("ablation_independence"),
                   category="Relevance"),
        png="results/figures/ablation_independence.png",
    log:
        "logs/figures/ablation_independence.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot ablation_independence --independence {input} --out {output.pdf} > {log} 2>&1"


RELEVANCE_FIGURES = [f"results/figures/{name}.pdf" for name in
                     ("relevance_train", "relevance_test", "relevance_layers", "relevance_blocks",
                      "relevance_blocks_paper_window",
                      "ablation_heatmap", "ablation_top1", "ablation_independence")]
FIGURES += RELEVANCE_FIGURES


rule relevance:
    """Every figure of the relevance stage (named target)."""
    input:
        RELEVANCE_FIGURES,
