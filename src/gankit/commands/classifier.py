"""`gankit classifier`: train (and cache) the data classifier behind the classifier_* metrics, or list them."""

HELP = "train and cache a data-set classifier for classifier_fid / classifier_score / class_histogram"


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    t = sub.add_parser("train", help="train a small CNN on a labelled data source and cache it")
    t.add_argument("--data", required=True, help="data source name (mnist5k, mnist-idx, cifar10, image-folder, npz...)")
    t.add_argument("--path", default=None, help="file or folder of the data source")
    t.add_argument("--resolution", type=int, default=32, help="image size (as data.resolution of the runs to score)")
    t.add_argument("--channels", type=int, default=None, help="1 or 3; default keeps the source's")
    t.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="data source option (data.args), e.g. split=test (repeatable)")
    t.add_argument("--epochs", type=int, default=8)
    t.add_argument("--width", type=int, default=16, help="channels of the first conv stage")
    t.add_argument("--holdout", type=float, default=0.2, help="fraction held out to measure accuracy")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu")
    t.add_argument("--retrain", action="store_true", help="train again even when a cached classifier exists")
    sub.add_parser("list", help="list the cached classifiers")


def _source_args(pairs) -> dict:
    from omegaconf import OmegaConf

    from gankit.registry import ConfigError

    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--arg '{pair}' is not of the form KEY=VALUE (e.g. split=test)")
    return OmegaConf.to_container(OmegaConf.from_dotlist(list(pairs)), resolve=True)


def run(args) -> int:
    import json

    from gankit.metrics.cache import cache_root
    from gankit.metrics.classifier import classifier_files, get_classifier

    if args.action == "list":
        folder = cache_root() / "classifiers"
        metas = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if not metas:
            print(f"no cached classifiers in {folder}")
        for meta_file in metas:
            m = json.loads(meta_file.read_text())
            r = m["record"]
            print(f"{m['key']}  {r['source']} path={r['path']} args={r['args']} res={r['resolution']} "
                  f"channels={r['channels']}  held-out accuracy {m['holdout_accuracy']}")
        return 0
    if args.action != "train":
        print("usage: gankit classifier {train,list} ...  (see gankit classifier -h)")
        return 2
    clf = get_classifier(args.data, args.path, args.resolution, args.channels, _source_args(args.arg),
                         width=args.width, epochs=args.epochs, holdout=args.holdout, seed=args.seed,
                         device=args.device, retrain=args.retrain, progress=True)
    m = clf.meta
    acc = m["holdout_accuracy"]
    print(f"classifier {m['key']}: {m['num_classes']} classes, input {tuple(m['in_shape'])}, "
          f"trained on {m['n_train']} images in {m['train_seconds']} s")
    held_out = "n/a (--holdout 0)" if acc is None else f"{acc:.4f} on {m['n_holdout']} images"
    print(f"held-out accuracy: {held_out}")
    print(f"cached at {classifier_files(m['key'])[0]}")
    return 0
