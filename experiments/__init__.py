"""The evidence lab: plans of paired-seed experiments, their runner, the
results store (``results.json``) and the statistics and tables the docs
quote. Run from the repository root: ``python -m experiments.ablation``,
``python -m experiments.pretrain_backbone``."""
