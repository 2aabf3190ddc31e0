"""Shared by the ALWA tests and their distributed worker."""

import numpy as np
import pytest
import torch


class FakeDetector:
    """Just the part of a detector the hook touches."""

    def parse_losses(self, losses):
        total = sum(
            v if torch.is_tensor(v) else sum(v)
            for k, v in losses.items()
            if 'loss' in k
        )
        return total, {k: v for k, v in losses.items()}


def reference_alwa(cls_raw, reg_raw, interval=100, statistic='std'):
    """The authors' rule: every iteration append the (weighted) losses to
    histories; every `interval` iterations, if S_cls > S_reg set
    cls_weight = 1 - (S_cls - S_reg) / S_cls; clear the histories."""
    w = 1.0
    hist_c, hist_r, trace = [], [], []
    for c, r in zip(cls_raw, reg_raw):
        trace.append(w)
        hist_c.append(c * w)
        hist_r.append(r)
        if len(hist_c) % interval == 0:
            s_c, s_r = np.std(hist_c, ddof=1), np.std(hist_r, ddof=1)
            if statistic == 'mean+std':
                s_c, s_r = s_c + np.mean(hist_c), s_r + np.mean(hist_r)
            if s_c > s_r:
                w = 1 - (s_c - s_r) / s_c
            hist_c, hist_r = [], []
    return trace


def loss_sequence(n, seed=0):
    """Decaying, noisy losses; classification decays faster (the paper's
    conclusion (1)) and fluctuates more, increasingly so window after
    window (so that the weight keeps moving)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise = rng.normal(0, 1, n) * 0.05 * (1 + t // 100)
    cls = 1.5 * np.exp(-t / 150) + 0.3 + noise.clip(-0.25)
    reg = 0.6 * np.exp(-t / 400) + 0.2 + rng.normal(0, 0.03, n)
    return cls.astype(np.float32), reg.astype(np.float32)


def run_hook(hook, cls, reg, levels=1, keys=('loss_cls', 'loss_bbox')):
    """The weight of ``keys[0]`` before each iteration, feeding the hook
    one (cls, reg) pair of losses per iteration."""
    from mmdet_libra_ext.models.losses.alwa_losses import log_name

    cls_key, reg_key = keys
    det = FakeDetector()
    hook.install(det)
    trace = []
    for c, r in zip(cls, reg):
        # RPN-style losses come as one tensor per FPN level.
        per_level = [torch.tensor(c / levels)] * levels
        losses = {
            cls_key: per_level if levels > 1 else torch.tensor(c),
            reg_key: torch.tensor(r),
            'acc': torch.tensor(50.0),
        }
        trace.append(hook.weights.get(cls_key, 1.0))
        total, log_vars = det.parse_losses(losses)
        w = trace[-1]
        expected = torch.tensor(float(c) * w + float(r), dtype=total.dtype)
        assert torch.allclose(total, expected, rtol=1e-5)
        assert float(log_vars[log_name(cls_key, 'weight')]) == pytest.approx(w)
    return trace
