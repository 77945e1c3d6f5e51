# Stage 4: noise-robust retraining, Grad-CAM-targeted versus random augmentation (METHODS §4, §5.3-5.4).
# One augmented set and one fresh model per (arm, seed); per retraining seed one noise evaluation of the paper's
# two arms and one of the diagnostic arms (the noise of a level depends on sigma alone, so every model sees the
# same inputs); one summary; figures. One such set-up per regime of AUG_REGIMES (augment.regime, then
# augment.more_regimes), each with its settings AUG_OF[regime] (common.smk).

from andicam.seeding import derive_seed

wildcard_constraints:
    arm="|".join(sorted({a for r in AUG_REGIMES for a in AUG_OF[r]["arms"]})),


rule augment_select:
    """One training set: the kept trajectories of one arm plus a rotated copy of each."""
    input:
        data=lambda w: f"results/data/{w.regime}/train/shard{AUG_OF[w.regime]['shard']}.h5",
        gradcam=lambda w: f"results/gradcam/{w.regime}/train/shard{AUG_OF[w.regime]['shard']}.h5",
    output:
        # 0.65-0.7 GB per set at cpu-paper size (160,000 tracks of 1,000 steps): removed once its model has
        # trained, as the 80 sets of a cpu-paper run would not fit most disks; rebuilt from the seed if needed.
        temp("results/augment/{regime}/data/{arm}/seed{seed}.h5"),
    log:
        "logs/augment/{regime}/data/{arm}/seed{seed}.log",
    params:
        percent=augment_setting("percent"),
        draw=lambda w: (f"with_replacement --size-per-class {AUG_OF[w.regime]['size_per_class']}"
                        if AUG_OF[w.regime]["draw"] == "with_replacement" else AUG_OF[w.regime]["draw"]),
        # the selection (random arm) and the rotation angles of this (arm, seed)
        seed=lambda w: derive_seed(config["seed"], "augment", w.arm, w.seed),
    threads: 1
    resources:
        runtime=minutes(30),
        mem_mb=4000,
    conda:
        CPU_ENV
    shell:
        "python -m andicam augment-select --data {input.data} --gradcam {input.gradcam} --arm {wildcards.arm}"
        " --percent {params.percent} --draw {params.draw} --seed {params.seed} --out {output} > {log} 2>&1"


# A fresh model on one augmented set. Both arms of a seed share the initial weights and batch-order seed
# (master seed derived from 'augment'), so the paired difference compares the data only.
use rule train as augment_train with:
    input:
        train="results/augment/{regime}/data/{arm}/seed{seed}.h5",
        val=lambda w: shards(w.regime, "val"),
    output:
        model="results/augment/{regime}/models/{arm}/seed{seed}/model.pt",
        metrics="results/augment/{regime}/models/{arm}/seed{seed}/metrics.json",
        history="results/augment/{regime}/models/{arm}/seed{seed}/history.csv",
    log:
        "logs/augment/{regime}/models/{arm}/seed{seed}.log",
    benchmark:
        "results/benchmarks/augment/{regime}/models/{arm}/seed{seed}.tsv"
    params:
        master=derive_seed(config["seed"], "augment"),
        checkpoint="checkpoints/augment/{regime}/{arm}/seed{seed}.pt",
        depth=config["model"]["main_depth"],
        epochs=augment_setting("epochs"),
        tags=" --tag augment_arm={arm}",
        extra=lambda w: (f" --max-val {AUG_OF[w.regime]['val_trajectories']}"
                         if AUG_OF[w.regime]["val_trajectories"] else ""),
    threads: config["augment"]["threads"] or TRAIN["threads"]
    resources:
        runtime=minutes(240),
        gpu=gpu_claim(config["train"]["device"]),
        mem_mb=16000,


rule augment_noise_eval:
    """The models of one retraining seed, the paper's arms (part 'seed<s>') or the diagnostic ones
    ('diagnostic<s>'), or the unaugmented main model (part 'baseline'), on the noisy test inputs. The noise
    of a level depends only on the master seed and sigma (andicam.noise.noise_seed), so every job's models see
    the same inputs as one job of all models would; a job per seed evaluates the retrainings as they finish,
    resumes in parts, and adding seeds evaluates only the new ones."""
    input:
        models=lambda w: noise_eval_models(w.regime, w.part)[0],
        data=lambda w: shards(w.regime, "test", AUG_OF[w.regime]["test_shards"]),
    output:
        "results/augment/{regime}/noise/{part}.csv",
    log:
        "logs/augment/{regime}/noise/{part}.log",
    benchmark:
        "results/benchmarks/augment/{regime}/noise/{part}.tsv"
    wildcard_constraints:
        part=r"baseline|seed\d+|diagnostic\d+",
    params:
        arms=lambda w: " ".join(noise_eval_models(w.regime, w.part)[1]),
        seeds=lambda w: " ".join(map(str, noise_eval_models(w.regime, w.part)[2])),
        sigmas=lambda w: " ".join(map(str, AUG_OF[w.regime]["sigmas"])),
        subset=lambda w: (f" --max-trajectories {AUG_OF[w.regime]['test_trajectories']}"
                          if AUG_OF[w.regime]["test_trajectories"] else ""),
        seed=config["seed"],
        amp=NOISE_AMP,
        device=config["train"]["device"],
    threads: config["augment"]["threads"] or TRAIN["threads"]
    resources:
        runtime=minutes(240),
        gpu=gpu_claim(config["train"]["device"]),
        mem_mb=16000,
    conda:
        GPU_ENV
    shell:
        "python -m andicam noise-eval --models {input.models} --arms {params.arms} --seeds {params.seeds}"
        " --data {input.data} --sigmas {params.sigmas} --seed {params.seed}{params.subset} --out {output}"
        " {params.amp} --device {params.device} --threads {threads} > {log} 2>&1"


rule augment_aggregate:
    """Per arm and level over the retraining seeds, and each arm minus random paired by seed."""
    input:
        lambda w: [f"results/augment/{w.regime}/noise/{part}.csv" for part in noise_eval_parts(w.regime)],
    output:
        "results/augment/{regime}/summary.csv",
    log:
        "logs/augment/{regime}/summary.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam augment-aggregate --inputs {input} --out {output} > {log} 2>&1"


rule augment_overlap:
    """How alike the ranked arms' pools are (each against targeted; where Grad-CAM points against the most
    probable), beside a random pool's share: arms that keep nearly the same trajectories cannot differ much."""
    input:
        lambda w: f"results/gradcam/{w.regime}/train/shard{AUG_OF[w.regime]['shard']}.h5",
    output:
        "results/augment/{regime}/selection_overlap.csv",
    log:
        "logs/augment/{regime}/selection_overlap.log",
    params:
        percent=augment_setting("percent"),
    conda:
        CPU_ENV
    shell:
        "python -m andicam augment-overlap --gradcam {input} --percent {params.percent} --out {output} > {log} 2>&1"


AUGMENT_TABLES = [f"results/augment/{r}/selection_overlap.csv" for r in AUG_REGIMES]


rule fig_augmentation_noise:
    input:
        f"results/augment/{AUG_MAIN}/summary.csv",
    output:
        pdf=report("results/figures/augmentation_noise.pdf", caption=caption("augmentation_noise"),
                   category="Augmentation"),
        png="results/figures/augmentation_noise.png",
    log:
        "logs/figures/augmentation_noise.log",
    params:
        draw=AUG_OF[AUG_MAIN]["draw"],
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot augmentation_noise --summary {input} --draw {params.draw} --out {output.pdf}"
        " > {log} 2>&1"


use rule fig_augmentation_noise as fig_augmentation_noise_more with:
    input:
        "results/augment/{regime}/summary.csv",
    output:
        pdf=report("results/figures/augmentation_noise_{regime}.pdf", caption=caption("augmentation_noise"),
                   category="Augmentation"),
        png="results/figures/augmentation_noise_{regime}.png",
    log:
        "logs/figures/augmentation_noise_{regime}.log",
    params:
        draw=augment_setting("draw"),


rule fig_augmentation_by_class:
    input:
        f"results/augment/{AUG_MAIN}/summary.csv",
    output:
        pdf=report("results/figures/augmentation_by_class.pdf", caption=caption("augmentation_by_class"),
                   category="Augmentation"),
        png="results/figures/augmentation_by_class.png",
    log:
        "logs/figures/augmentation_by_class.log",
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot augmentation_by_class --summary {input} --out {output.pdf} > {log} 2>&1"


rule fig_augmentation_arms:
    input:
        f"results/augment/{AUG_MAIN}/summary.csv",
    output:
        pdf=report("results/figures/augmentation_arms.pdf", caption=caption("augmentation_arms"),
                   category="Augmentation"),
        png="results/figures/augmentation_arms.png",
    log:
        "logs/figures/augmentation_arms.log",
    params:
        draw=AUG_OF[AUG_MAIN]["draw"],
    conda:
        CPU_ENV
    shell:
        "python -m andicam plot augmentation_arms --summary {input} --draw {params.draw} --out {output.pdf}"
        " > {log} 2>&1"


use rule fig_augmentation_arms as fig_augmentation_arms_more with:
    input:
        "results/augment/{regime}/summary.csv",
    output:
        pdf=report("results/figures/augmentation_arms_{regime}.pdf", caption=caption("augmentation_arms"),
                   category="Augmentation"),
        png="results/figures/augmentation_arms_{regime}.png",
    log:
        "logs/figures/augmentation_arms_{regime}.log",
    params:
        draw=augment_setting("draw"),


# Each further set-up's noise figure, and its arms figure where it retrains more than the paper's two arms.
AUGMENT_MORE_FIGURES = [f"results/figures/augmentation_noise_{r}.pdf" for r in AUG_REGIMES[1:]] + [
    f"results/figures/augmentation_arms_{r}.pdf" for r in AUG_REGIMES[1:] if set(AUG_OF[r]["arms"]) - set(PAPER_ARMS)]


rule augment:
    """The augmentation experiment and its figures (named target: `snakemake augment`)."""
    input:
        "results/figures/augmentation_noise.pdf",
        "results/figures/augmentation_by_class.pdf",
        "results/figures/augmentation_arms.pdf",
        AUGMENT_MORE_FIGURES,
        AUGMENT_TABLES,


FIGURES += ["results/figures/augmentation_noise.pdf", "results/figures/augmentation_by_class.pdf",
            "results/figures/augmentation_arms.pdf"] + AUGMENT_MORE_FIGURES
