# andicam: rebuild "Exploring how deep learning decodes anomalous diffusion via Grad-CAM"
# (Bae, Baek, Jeong 2024) from nothing. The pipeline reads top to bottom:
# simulate -> train -> explain -> augment -> relevance -> summary, with the figures of each stage
# (and predict on your own tracks).
#
#   snakemake --cores all                                   # paper scale (config.yaml)
#   snakemake --cores all --configfile presets/quick.yaml   # every figure on a laptop
#   snakemake --cores all fig_dataset_overview              # one figure, by name

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


wildcard_constraints:
    regime="fixed|variable",
    split="train|val|test",
    shard=r"\d+",
    depth=r"\d+",
    seed=r"\d+",
    positions="trajectory|all",
    fill="|_hold|_bridge",  # the erasing fill in file names: none for zero (the paper's), else _<fill>
    regimedir="|fixed/|variable/",  # an erasing run's regime folder: none for the main regime
    explained=r"|seed\d+/",  # the explained model's folder: none for the main model, seed<s>/ for explain.more_seeds


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/explain.smk"
include: "workflow/rules/augment.smk"
include: "workflow/rules/relevance.smk"
include: "workflow/rules/robust.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/andi2020.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/scaling.smk"


rule all:
    input:
        FIGURES,
        "results/tables/summary.md",
        rules.docs_page.output,
        PREDICT_TARGETS,
        ROBUST_TABLES,
        AUGMENT_TABLES,
    default_target: True
