"""The demo configs shrunk for end-to-end tests: one set of settings, used
as ``--cfg-options`` by the command-line tests and merged into a Config by
the distributed worker."""


def tiny_settings(
    data_root, epochs=1, train_images=8, val_images=4, max_iters=None
):
    """Dotted config keys and values: the embedded dataset at
    ``data_root``, ``train_images`` training and ``val_images`` validation
    images in batches of 4, ``epochs`` epochs with evaluation, a checkpoint
    and a log line every epoch / iteration. With ``max_iters`` the config's
    loop is an ``IterBasedTrainLoop`` of that many iterations instead (the
    evaluation and checkpoint intervals are then the caller's)."""
    ann = f'{data_root}annotations/instances_val.json'
    settings = {'data_root': data_root}
    for split, images in (
        ('train', train_images),
        ('val', val_images),
        ('test', val_images),
    ):
        settings.update(
            {
                f'{split}_dataloader.dataset.data_root': data_root,
                f'{split}_dataloader.dataset.indices': images,
                f'{split}_dataloader.batch_size': 4,
            }
        )
    settings.update(
        {
            'val_evaluator.ann_file': ann,
            'test_evaluator.ann_file': ann,
            'default_hooks.logger.interval': 1,
        }
    )
    if max_iters is None:
        settings.update(
            {
                'train_cfg.max_epochs': epochs,
                'train_cfg.val_interval': 1,
                'default_hooks.checkpoint.interval': 1,
            }
        )
    else:
        settings['train_cfg.max_iters'] = max_iters
    return settings


def tiny_options(data_root, epochs=1, extra=(), **kwargs):
    """:func:`tiny_settings` as ``--cfg-options`` of MMDetection's
    tools/train.py, followed by ``extra`` options."""
    return (
        ['--cfg-options']
        + [
            f'{k}={v}'
            for k, v in tiny_settings(data_root, epochs, **kwargs).items()
        ]
        + list(extra)
    )
