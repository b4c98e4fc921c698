"""How well an InfoGAN categorical code captures the data's classes, read by a classifier.

For each value of the code, generate samples at random noise (and random other codes), label them
with a classifier (gankit's MNIST classifier for digits), and compare code values with labels:
the paper's measure (Chen et al. 2016, section 7.1: "matching each category to a digit type")
maps each value to the label most of its samples get; the one-to-one variant (Hungarian matching)
cannot map two values to the same digit; normalised mutual information needs no mapping at all.
"""

from __future__ import annotations

from typing import Dict

import torch

from gankit.priors import latents, prior_of
from gankit.viz.grid import generate


@torch.no_grad()
def categorical_agreement(G: torch.nn.Module, classifier: torch.nn.Module, code: str = "cat0",
                          n_per_value: int = 500, seed: int = 0, batch_size: int = 500) -> Dict[str, object]:
    """Agreement between a categorical code of ``G``'s prior and a classifier's labels.

    Args:
        G: an unconditional generator trained with the ``infogan`` prior.
        classifier: ``[N, C, H, W]`` images in [-1, 1] -> class logits ``[N, K]``.
        code: a categorical code of the prior (``cat0``).
        n_per_value: samples per code value.
        seed: noise seed (``gankit.priors.latents``: the same numbers on every machine).
        batch_size: samples per forward pass.

    Returns:
        ``accuracy`` (each value mapped to its majority label; the paper's measure),
        ``one_to_one_accuracy`` (values and labels matched one-to-one), ``nmi`` (normalised mutual
        information between value and label, arithmetic mean normalisation), ``mapping`` (label
        of each value), ``labels_covered`` (distinct labels in ``mapping``) and ``samples``.
    """
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import normalized_mutual_info_score

    if getattr(G, "num_classes", 0):
        raise ValueError("code agreement needs an unconditional generator: a conditional one gets its class "
                         "from the label, not from the code")
    prior = prior_of(G)
    spec = prior.code(code) if hasattr(prior, "code") else None
    if spec is None or spec.kind != "categorical":
        raise ValueError(f"'{code}' is not a categorical code of this generator's prior ({prior.describe()})")
    k = spec.size
    values = torch.arange(k).repeat_interleave(n_per_value)
    z = prior.with_code(latents(G, len(values), seed), code, values)
    device = next(classifier.parameters()).device
    was_training = classifier.training
    classifier.eval()
    try:
        labels = torch.cat([classifier(generate(G, zb, batch_size=batch_size).to(device)).argmax(1).cpu()
                            for zb in z.split(batch_size)])
    finally:
        classifier.train(was_training)
    num_labels = int(max(int(labels.max()) + 1, getattr(classifier, "num_classes", 0)))
    confusion = torch.zeros(k, num_labels, dtype=torch.long)
    confusion.index_put_((values, labels), torch.ones_like(values), accumulate=True)
    rows, cols = linear_sum_assignment(-confusion.numpy())
    mapping = confusion.argmax(dim=1)
    return {"accuracy": float(confusion.max(dim=1).values.sum()) / len(values),
            "one_to_one_accuracy": float(confusion[rows, cols].sum()) / len(values),
            "nmi": float(normalized_mutual_info_score(values.numpy(), labels.numpy())),
            "mapping": mapping.tolist(), "labels_covered": len(set(mapping.tolist())), "samples": len(values)}
