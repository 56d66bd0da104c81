"""The network shared by training and the server: its inference copy."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from extexify_lsp.model import HalfLinear, ModelConfig, SymbolNet, inference_copy


def batch_norms(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]


@pytest.mark.parametrize("in_channels", [1, 4])
def test_the_inference_copy_answers_as_the_model_does(in_channels: int) -> None:
    torch.manual_seed(0)
    model = SymbolNet(ModelConfig(num_classes=50, in_channels=in_channels, hidden=64))
    # Statistics like a trained model's: with the initial ones (mean 0, variance 1, scale 1, shift 0) a
    # wrong folding would go unseen.
    for norm in batch_norms(model):
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
        nn.init.uniform_(norm.weight, 0.5, 1.5)
        nn.init.uniform_(norm.bias, -0.5, 0.5)
    model.eval()
    images = torch.rand(8, in_channels, 32, 32)
    copy = inference_copy(model)
    with torch.no_grad():
        embeddings, logits = model.embed_and_classify(images)
        copy_embeddings, copy_logits = copy.embed_and_classify(images)
    assert copy_embeddings.dtype == copy_logits.dtype == torch.float32
    # float16 weights: about three significant digits
    assert torch.allclose(copy_embeddings, embeddings, rtol=5e-3, atol=5e-3)
    assert torch.allclose(copy_logits.softmax(dim=1), logits.softmax(dim=1), atol=2e-3)
    assert batch_norms(copy) == []
    assert sum(isinstance(m, HalfLinear) for m in copy.modules()) == 2
    conv = copy.features[0][0]
    assert isinstance(conv, nn.Conv2d) and conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert len(batch_norms(model)) == 5  # the model itself is left as it was
    assert not any(p.requires_grad for p in copy.parameters())


def test_half_linear_keeps_float16_weights_and_answers_in_float32() -> None:
    torch.manual_seed(0)
    linear = nn.Linear(300, 20)
    half = HalfLinear(linear)
    inputs = torch.randn(4, 300)
    with torch.no_grad():
        expected, out = linear(inputs), half(inputs)
    assert half.weight.dtype == torch.float16 and out.dtype == torch.float32
    assert torch.allclose(out, expected, rtol=1e-2, atol=1e-2)
    assert not torch.equal(out, expected)  # float16, not float32 under another name


def test_channels_last_input_stays_channels_last_through_the_inference_copy() -> None:
    """What `Recognizer.images` makes: with one channel, only the input's layout decides the first conv's."""
    copy = inference_copy(SymbolNet(ModelConfig(num_classes=5, hidden=16)))
    images = torch.rand(2, 1, 32, 32).to(memory_format=torch.channels_last)
    with torch.no_grad():
        features = copy.features[:2](images)  # the first conv and pool
    assert features.is_contiguous(memory_format=torch.channels_last) and not features.is_contiguous()
