# genogan: the workflow lives in workflow/Snakefile (the Snakemake catalog's entry point); this
# file lets `snakemake` run from the repository root. The `include:` directive would reset the
# default target after the include, so the included `rule all` is kept as default explicitly.
workflow.include("workflow/Snakefile", overwrite_default_target=True)
