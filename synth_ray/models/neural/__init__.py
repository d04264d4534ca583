"""Neural generators (CTGAN and TVAE, Xu et al., NeurIPS 2019) written in torch.

The layout shows the pipeline:

* :mod:`.options` - the models' settings, validated frozen dataclasses;
* :mod:`.column_codecs` and :mod:`.encoding` - model space <-> network space (mode-specific
  normalization, one-hot categories with a capped width, null flags), described by
  :class:`~synth_ray.transforms.output_spans.OutputSpan` lists;
* :mod:`.conditional_sampler` - CTGAN's conditional vector and training-by-sampling;
* :mod:`.span_ops` - output activations per span (tanh, Gumbel-softmax) and span sampling;
* :mod:`.networks` - the residual generator, the PacGAN critic, the VAE encoder/decoder;
* :mod:`.training_loop` - a plain loop over batches (no Ray inside), with early stopping on
  :mod:`.validation`'s column-shape score;
* :mod:`.runtime` - fit seeds (one stream per purpose) and torch thread settings;
* :mod:`.generator_base` - what both models share: data preparation, chunk-safe sampling,
  safetensors-ready weights;
* :mod:`.ctgan` (with :mod:`.ctgan_training`) and :mod:`.tvae` - the
  :class:`~synth_ray.models.base.Generator` classes.

Modules here import torch at module level; the registry imports them only when a
neural model is asked for, so ``import synth_ray`` stays cheap.
"""
