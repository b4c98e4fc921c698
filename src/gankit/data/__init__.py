"""Data sources and on-device batching.

A data source is a builder registered in ``DATA_SOURCES`` with the signature
``fn(req: DataRequest, **args) -> Dataset``; ``args`` are the source's own options
(``data.args`` in the config), validated against the signature.
"""

from gankit.data.dataset import DATA_SOURCES, DataRequest, Dataset, build_dataset  # noqa: F401
