"""andicam: how deep learning decodes anomalous diffusion, rebuilt as a workflow.

Logic lives here as plain typed functions, one module per concern, in the
order of the pipeline: simulate -> preprocess/model -> train/evaluate ->
gradcam -> augment -> relevance -> predict. The command line
(``python -m andicam``) and the Snakemake rules are thin wrappers.
"""

__version__ = "0.1.0"
