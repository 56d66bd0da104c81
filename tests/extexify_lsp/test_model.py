"""The network shared by training and the server: folding its BatchNorms for inference."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from extexify_lsp.model import ModelConfig, SymbolNet, fold_batch_norm


def batch_norms(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]


@pytest.mark.parametrize("in_channels", [1, 4])
def test_folding_batch_norm_keeps_the_outputs(in_channels: int) -> None:
    torch.manual_seed(0)
    model = SymbolNet(ModelConfig(num_classes=7, in_channels=in_channels, hidden=16))
    # Statistics like a trained model's: with the initial ones (mean 0, variance 1, scale 1, shift 0) a
    # wrong folding would go unseen.
    for norm in batch_norms(model):
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
        nn.init.uniform_(norm.weight, 0.5, 1.5)
        nn.init.uniform_(norm.bias, -0.5, 0.5)
    model.eval()
    images = torch.rand(3, in_channels, 32, 32)
    folded = fold_batch_norm(model)
    with torch.no_grad():
        embeddings, logits = model.embed_and_classify(images)
        folded_embeddings, folded_logits = folded.embed_and_classify(images)
    assert torch.allclose(folded_embeddings, embeddings, atol=1e-5)
    assert torch.allclose(folded_logits, logits, atol=1e-5)
    assert batch_norms(folded) == []
    assert len(batch_norms(model)) == 5  # the model itself is left as it was
