"""The report's sensitivity, saliency and CAS sections on a conditional run: what they draw, and
what they say for an unconditional generator or a run without a CAS on record."""

import json

from gankit.training.checkpoint import load_run_generator
from gankit.viz.report import _Run, _section_cas, _section_saliency, _section_sensitivity
from tools_fixtures import tiny_run  # noqa: F401  (session fixture)


def test_sensitivity_and_saliency_sections_draw_their_pictures(tiny_run, tmp_path):
    G, cfg = load_run_generator(tiny_run)
    run = _Run(tiny_run, tmp_path, lambda line: None, cfg=cfg, G=G)
    sens = _section_sensitivity(run, seed=0)
    assert sens.count("<img") == 3 and "the 3 most, then the 3 least sensitive" in sens
    sal = _section_saliency(run, seed=0, max_reference=200, device="cpu")
    assert sal.count("<img") == 2 and 'class="missing"' not in sal  # both groups, then the per-class figure


def test_cas_section_shows_the_recorded_score_or_how_to_get_it(tiny_run, tmp_path):
    G, cfg = load_run_generator(tiny_run)
    run = _Run(tiny_run, tmp_path, lambda line: None, cfg=cfg, G=G)
    assert "No CAS on record: `gankit eval RUN --metrics cas`" in _section_cas(run)
    eval_dir = tmp_path / "run" / "eval"
    eval_dir.mkdir(parents=True)
    (eval_dir / "e.json").write_text(json.dumps({"values": {"cas": 0.625, "cas_real": 0.875}, "protocol": {
        "metrics": {"cas": {"n_fake": 40, "n_real_train": 30, "n_test": 8}}}}))
    html = _section_cas(_Run(tmp_path / "run", tmp_path, lambda line: None, cfg=cfg, G=G))
    assert '<td>e.json</td><td class="num">0.625</td><td class="num">0.875</td>' in html
    G.num_classes = 0
    plain = _section_cas(_Run(tiny_run, tmp_path, lambda line: None, cfg=cfg, G=G))
    assert "Not applicable: CAS" in plain and "<table" not in plain
