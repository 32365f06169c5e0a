"""The book's worked values (fastai book, chapter 5), reproduced on torch 2.14.1."""
import torch


def acts() -> torch.Tensor:
    """`torch.manual_seed(42); acts = torch.randn((6, 2)) * 2`, made without touching the global seed."""
    return torch.randn((6, 2), generator=torch.Generator().manual_seed(42)) * 2


TARGETS = (0, 1, 0, 1, 1, 0)
SOFTMAX_COL0 = (0.6025, 0.5021, 0.1332, 0.9966, 0.5959, 0.3661)
CROSS_ENTROPY_MEAN = 1.8045
CROSS_ENTROPY_ROWS = (0.5067, 0.6973, 2.0160, 5.6958, 0.9062, 1.0048)
TOL = 1e-4  # the book prints four decimals
