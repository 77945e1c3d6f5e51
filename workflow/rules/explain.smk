# Stage 3: explain the main models. Grad-CAM of every stage on any data shard (one forward and one
# backward pass per batch), and the analyses and figures built on it (METHODS §3-4, §5.5-5.6): erasing,
# layer response, scale of the maps per stage, t-SNE of the pooled features, examples.
# Named target: `snakemake explain`; each figure also by name (`snakemake fig_erasing`).

EXPLAIN = config["explain"]
# One erasing run per positions mode: "trajectory" ranks only the segments that hold real steps, "all" the
# left zero-padding too, as the paper's code did. The first listed mode also gets the per-class figure.
ERASING_POSITIONS = EXPLAIN["erasing"]["positions"]
# And one per fill of the erased segments. The zero fill (the paper's) keeps the names it had before fills
# existed (erasing_{positions}.csv); another fill adds its name (erasing_{positions}_{fill}.csv), so the
# rule's {fill} wildcard is "" or "_<fill>" (erasing_stem in common.smk).
ERASING_FILLS = EXPLAIN["erasing"]["fill"]
ERASING_TABLES = [erasing_stem(p, "zero") + ".csv" for p in ERASING_POSITIONS]
ERASING_CORRECTNESS = [erasing_stem(p, "zero") + "_correctness.npz" for p in ERASING_POSITIONS]
# Every run, fill by fill in the configured order (zero's are those above).
ERASING_RUNS = [(p, f) for f in ERASING_FILLS for p in ERASING_POSITIONS]
ERASING_FILL_TABLES = [erasing_stem(p, f) + ".csv" for p, f in ERASING_RUNS]
ERASING_FILL_CORRECTNESS = [erasing_stem(p, f) + "_correctness.npz" for p, f in ERASING_RUNS]
# The curves per trajectory length of every fill, for the first listed positions mode.
ERASING_BY_LENGTH = [erasing_stem(ERASING_POSITIONS[0], f) + "_by_length.csv" for f in ERASING_FILLS]
# One run per regime's main model on its own test data, the first the main one (the runs above); the others
# (in results/explain/<regime>/) for the first positions mode only: fixed-length data have no padding, so
# both modes erase the same.
ERASING_REGIMES = EXPLAIN["erasing"]["regimes"]
ERASING_REGIME_RUNS = [(r if i else None, f) for i, r in enumerate(ERASING_REGIMES) for f in ERASING_FILLS]
ERASING_REGIME_TABLES = [erasing_stem(ERASING_POSITIONS[0], f, r) + ".csv" for r, f in ERASING_REGIME_RUNS]
ERASING_REGIME_CORRECTNESS = [erasing_stem(ERASING_POSITIONS[0], f, r) + "_correctness.npz"
                              for r, f in ERASING_REGIME_RUNS]


rule gradcam:
    """Grad-CAM maps of all four stages of the regime's main model on one shard."""
    input:
        model=lambda w: explained_model(w.regime, w),
        data="results/data/{regime}/{split}/shard{shard}.h5",
    output:
        "results/{explained}gradcam/{regime}/{split}/shard{shard}.h5",
    log:
        "logs/{explained}gradcam/{regime}/{split}/shard{shard}.log",
    benchmark:
        "results/benchmarks/{explained}gradcam/{regime}/{split}/shard{shard}.tsv"
    params:
        target=EXPLAIN["gradcam"]["target"],
        relu="--relu" if EXPLAIN["gradcam"]["relu"] else "",
        batch=EXPLAIN["batch_size"],
        device=EXPLAIN["device"],
    threads: EXPLAIN["threads"]
    resources:
        runtime=minutes(60),
        gpu=gpu_claim(EXPLAIN["device"]),
        mem_mb=8000,
    conda:
        GPU_ENV
    shell:
        "python -m andicam gradcam --model {input.model} --data {input.data} --out {output} --target {params.target}"
        " {params.relu} --batch-size {params.batch} --device {params.device} --threads {threads} > {log} 2>&1"


rule erasing:
    """Accuracy after erasing each Grad-CAM percentile bin, and the uniform and run-length controls, ranking
    the trajectory's own segments ({positions}=trajectory) or all positions with the padding ({positions}=all);
    the erased segments set to 0 ({fill} empty) or filled as {fill} says (_hold, _bridge); with the main
    regime's model and test data ({regimedir} empty) or another's ({regimedir} = <regime>/)."""
    input:
        model=lambda w: explained_model(erasing_regime(w), w),
        data=lambda w: shards(erasing_regime(w), "test", EXPLAIN["erasing"]["shards"]),
        gradcam=lambda w: gradcam_files(erasing_regime(w), "test", EXPLAIN["erasing"]["shards"], w.explained),
    output:
        table="results/{explained}explain/{regimedir}erasing_{positions}{fill}.csv",
        correctness="results/{explained}explain/{regimedir}erasing_{positions}{fill}_correctness.npz",
        by_length="results/{explained}explain/{regimedir}erasing_{positions}{fill}_by_length.csv",
    log:
        "logs/{explained}explain/{regimedir}erasing_{positions}{fill}.log",
    benchmark:
        "results/benchmarks/{explained}explain/{regimedir}erasing_{positions}{fill}.tsv"
    params:
        e=EXPLAIN["erasing"],
        subset=(f"--max-trajectories {EXPLAIN['erasing']['max_trajectories']}"
                if EXPLAIN["erasing"]["max_trajectories"] else ""),
        padding=lambda w: "--include-padding" if w.positions == "all" else "",
        fill=lambda w: w.fill.lstrip("_") or "zero",
        regime=lambda w: f"--regime {erasing_regime(w)}" if w.regimedir else "",
        master=config["seed"],
        batch=EXPLAIN["batch_size"],
        device=EXPLAIN["device"],
        amp="--amp" if EXPLAIN["erasing"]["amp"] else "--no-amp",
    threads: EXPLAIN["threads"]
    resources:
        runtime=minutes(240),
        gpu=gpu_claim(EXPLAIN["device"]),
        mem_mb=8000,
    conda:
        GPU_ENV
    shell:
        "python -m andicam erasing --model {input.model} --data {input.data} --gradcam {input.gradcam}"
        " --out {output.table} --correctness {output.correctness} --by-length {output.by_length}"
        " --stage {params.e[stage]} --bins {params.e[bins]} --seeds {params.e[seeds]} --master-seed {params.master}"
        " {params.subset} {params.padding} --fill {params.fill} {params.regime}"
        " {params.amp} --batch-size {params.batch} --device {params.device} --threads {threads}"
        " > {log} 2>&1"


rule layer_response:
    """Impulse response of every stage of the trained main model, and the window width per stage."""
    input:
        lambda w: explained_model(EXPLAIN["response"]["regime"], w),
    output:
        response="results/{explained}explain/layer_response.h5",
        windows="results/{explained}tables/layer_response_windows.csv",
    log:
        "logs/{explained}explain/layer_response.log",
    params:
        r=EXPLAIN["response"],
    threads: EXPLAIN["threads"]
    resources:
        runtime=minutes(30),
        mem_mb=4000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam layer-response --model {input} --out {output.response} --out-csv {output.windows}"
        " --channels {params.r[channels]} --threshold {params.r[threshold]} --mass {params.r[mass]}"
        " --device cpu --threads {threads} > {log} 2>&1"


rule gradcam_scale:
    """Autocorrelation length of the maps per stage and class."""
    input:
        gradcam_files(EXPLAIN["scale"]["regime"], "test", EXPLAIN["scale"]["shards"]),
    output:
        "results/tables/gradcam_scale.csv",
    log:
        "logs/explain/gradcam_scale.log",
    threads: 1
    conda:
        CPU_ENV
    shell:
        "python -m andicam gradcam-scale --gradcam {input} --out {output} > {log} 2>&1"


rule tsne:
    """t-SNE of the pooled features after each stage on a seeded subsample."""
    input:
        model=main_model(EXPLAIN["tsne"]["regime"]),
        data=shards(EXPLAIN["tsne"]["regime"], EXPLAIN["tsne"]["split"], 1),
    output:
        "results/explain/tsne.csv",
    log:
        "logs/explain/tsne.log",
    benchmark:
        "results/benchmarks/explain/tsne.tsv"
    params:
        t=EXPLAIN["tsne"],
        master=config["seed"],
        batch=EXPLAIN["batch_size"],
    # CPU only: openTSNE dominates; the features of a subsample are cheap even at paper width.
    threads: EXPLAIN["threads"]
    resources:
        runtime=minutes(120),
        mem_mb=8000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam tsne --model {input.model} --data {input.data} --out {output} --n-points {params.t[n_points]}"
        " --perplexity {params.t[perplexity]} --master-seed {params.master} --jobs {threads}"
        " --batch-size {params.batch} --device cpu --threads {threads} > {log} 2>&1"


rule fig_erasing:
    input:
        table=ERASING_FILL_TABLES,
        correctness=ERASING_FILL_CORRECTNESS,
    output:
        pdf=report("results/figures/erasing.pdf", caption=caption("erasing"), category="Grad-CAM"),
        png="results/figures/erasing.png",
    log:
        "logs/figures/erasing.log",
    params:
        master=config["seed"],
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot erasing --erasing {input.table} --correctness {input.correctness}"
        " --seed {params.master} --out {output.pdf} > {log} 2>&1"


rule fig_erasing_regimes:
    input:
        table=ERASING_REGIME_TABLES,
        correctness=ERASING_REGIME_CORRECTNESS,
    output:
        pdf=report("results/figures/erasing_regimes.pdf", caption=caption("erasing_regimes"), category="Grad-CAM"),
        png="results/figures/erasing_regimes.png",
    log:
        "logs/figures/erasing_regimes.log",
    params:
        master=config["seed"],
        main=ERASING_REGIMES[0],
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot erasing_regimes --erasing {input.table} --correctness {input.correctness}"
        " --main-regime {params.main} --seed {params.master} --out {output.pdf} > {log} 2>&1"


rule fig_erasing_by_class:
    input:
        ERASING_TABLES[0],
    output:
        pdf=report("results/figures/erasing_by_class.pdf", caption=caption("erasing_by_class"), category="Grad-CAM"),
        png="results/figures/erasing_by_class.png",
    log:
        "logs/figures/erasing_by_class.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot erasing_by_class --erasing {input} --out {output.pdf} > {log} 2>&1"


rule fig_erasing_by_length:
    input:
        ERASING_BY_LENGTH,
    output:
        pdf=report("results/figures/erasing_by_length.pdf", caption=caption("erasing_by_length"),
                   category="Grad-CAM"),
        png="results/figures/erasing_by_length.png",
    log:
        "logs/figures/erasing_by_length.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot erasing_by_length --erasing {input} --out {output.pdf} > {log} 2>&1"


# Every erasing run of the main model(s), each regime, positions mode and fill, in a few numbers (first and last
# bin, the controls, Grad-CAM minus the run-length control, the random-segment cost). Named target:
# `snakemake erasing_curves`; it is also a table of the run's page.
ERASING_ALL_TABLES = ERASING_FILL_TABLES + [t for t in ERASING_REGIME_TABLES if t not in ERASING_FILL_TABLES]
ERASING_ALL_CORRECTNESS = ERASING_FILL_CORRECTNESS + [c for c in ERASING_REGIME_CORRECTNESS
                                                      if c not in ERASING_FILL_CORRECTNESS]


rule erasing_curves:
    input:
        table=ERASING_ALL_TABLES,
        correctness=ERASING_ALL_CORRECTNESS,
    output:
        "results/tables/erasing_curves.csv",
    log:
        "logs/tables/erasing_curves.log",
    params:
        stage=EXPLAIN["erasing"]["stage"],
        main=ERASING_REGIMES[0],
        master=config["seed"],
    threads: 1
    resources:
        runtime=minutes(10),
        mem_mb=2000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam erasing-curves --erasing {input.table} --correctness {input.correctness}"
        " --main-regime {params.main} --stage {params.stage} --seed {params.master} --out {output} > {log} 2>&1"


rule fig_layer_response:
    input:
        response="results/explain/layer_response.h5",
        windows="results/tables/layer_response_windows.csv",
    output:
        pdf=report("results/figures/layer_response.pdf", caption=caption("layer_response"), category="Grad-CAM"),
        png="results/figures/layer_response.png",
    log:
        "logs/figures/layer_response.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot layer_response --response {input.response} --windows {input.windows} --out {output.pdf}"
        " > {log} 2>&1"


rule fig_gradcam_scale:
    input:
        "results/tables/gradcam_scale.csv",
    output:
        pdf=report("results/figures/gradcam_scale.pdf", caption=caption("gradcam_scale"), category="Grad-CAM"),
        png="results/figures/gradcam_scale.png",
    log:
        "logs/figures/gradcam_scale.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot gradcam_scale --scale {input} --out {output.pdf} > {log} 2>&1"


rule fig_tsne:
    input:
        "results/explain/tsne.csv",
    output:
        pdf=report("results/figures/tsne.pdf", caption=caption("tsne"), category="Grad-CAM"),
        png="results/figures/tsne.png",
    log:
        "logs/figures/tsne.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot tsne --tsne {input} --out {output.pdf} > {log} 2>&1"


rule fig_gradcam_examples:
    input:
        data=shards(EXPLAIN["examples"]["regime"], "test", 1),
        gradcam=gradcam_files(EXPLAIN["examples"]["regime"], "test", 1),
    output:
        pdf=report("results/figures/gradcam_examples.pdf", caption=caption("gradcam_examples"), category="Grad-CAM"),
        png="results/figures/gradcam_examples.png",
    log:
        "logs/figures/gradcam_examples.log",
    params:
        master=config["seed"],
        per_class=EXPLAIN["examples"]["per_class"],
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot gradcam_examples --data {input.data} --gradcam {input.gradcam} --master-seed {params.master}"
        " --per-class {params.per_class} --out {output.pdf} > {log} 2>&1"


EXPLAIN_FIGURES = [f"results/figures/{name}.pdf" for name in
                   ("erasing", "erasing_regimes", "erasing_by_class", "erasing_by_length", "layer_response",
                    "gradcam_scale", "tsne", "gradcam_examples")]
FIGURES += EXPLAIN_FIGURES


rule explain:
    """Every figure of the explain stage and the erasing runs' table (named target)."""
    input:
        EXPLAIN_FIGURES,
        rules.erasing_curves.output,
