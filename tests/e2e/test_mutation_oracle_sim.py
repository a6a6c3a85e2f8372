"""A sample of the mutation oracle in `make test`: every mutant of route C that the checks accept is
run on the simulated line and must verify against product C (`bumpline recipe mutate --simulate`)."""
from __future__ import annotations

import pytest

from tests.e2e.cli_home import home_env, said
from tests.support import cli

pytestmark = pytest.mark.prefect


def test_the_accepted_mutants_of_route_c_build_product_c(prefect_server, tmp_path):
    _, env = home_env(tmp_path, PREFECT_API_URL=prefect_server)
    out = cli("recipe", "mutate", "recipes/routes/product-c-paste-core-bump.yaml", "--simulate", env=env, timeout=300)
    assert out.returncode == 0, said(out)[-4000:]
    assert "13 mutants: 11 refused on paper, 2 accepted" in out.stdout
    assert "2 accepted mutants run: 2 built their product, 0 did not" in out.stdout
