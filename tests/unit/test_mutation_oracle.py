"""The mutation oracle on paper, in full (every single-step deletion and adjacent swap of every shipped
route): all but a known few are refused, and those few change nothing the product cares about — a
measurement dropped or moved, two steps that commute. `tests/e2e/test_mutation_oracle_sim.py` runs a
sample of the accepted ones on the simulated line; `bumpline recipe mutate --simulate` runs them all."""
from __future__ import annotations

from line.recipes.catalog import RecipeCatalog
from line.recipes.mutations import edit, judge, mutants, step_blocks
from tests.support import ROOT

CATALOG = RecipeCatalog(ROOT / "recipes")
ACCEPTED = {
    "product-a-spacing-pad-bump": {"delete A01", "delete A16", "swap A14c A15", "swap A15 A16"},
    "product-b-rdl-recess": {"delete B16", "swap B01 B02", "swap B14c B15", "swap B15 B16"},
    "product-c-paste-core-bump": {"delete C07", "swap C06 C07"},
    "product-d-suspended-bump-release": {"delete D10", "swap D07 D09", "swap D09 D10"},
    "product-d-suspended-bump-retain": {"delete D10", "swap D06g D09", "swap D09 D10"},
}


def test_every_deletion_and_adjacent_swap_is_refused_or_known_harmless():
    total = refused = 0
    for path in sorted((ROOT / "recipes/routes").glob("*.yaml")):
        ms = mutants(path.read_text())
        steps = len(step_blocks(path.read_text())[1])
        assert len(ms) == steps + steps - 1                      # n deletions, n-1 swaps
        for m in ms:
            judge(m, str(path), CATALOG)
            assert m.accepted or m.first_problem, m.name
        accepted = {m.name for m in ms if m.accepted}
        assert accepted == ACCEPTED[path.stem], (path.stem, accepted)
        total, refused = total + len(ms), refused + sum(not m.accepted for m in ms)
    assert (total, refused) == (175, 159)


def test_edits_keep_the_rest_of_the_document():
    text = (ROOT / "recipes/routes/product-c-paste-core-bump.yaml").read_text()
    head, blocks, tail = step_blocks(text)
    assert [b for b, _ in blocks] == ["C01", "C03", "C04", "C04b", "C05", "C06", "C07"]
    assert "".join(head) + "".join("".join(b) for _, b in blocks) + "".join(tail) == text
    moved = edit(text, move=("C07", "C01"))
    assert [b for b, _ in step_blocks(moved)[1]] == ["C07", "C01", "C03", "C04", "C04b", "C05", "C06"]
