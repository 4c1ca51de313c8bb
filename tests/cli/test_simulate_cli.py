"""`arshjul simulate` ends a year that cannot progress with a Swedish message and an exit
code, never with a traceback."""

from typer.testing import CliRunner

from arshjul.cli import app
from tests.conftest import SMALL_ORG, free_port

runner = CliRunner()


def test_a_stuck_simulation_ends_with_a_swedish_message_and_exit_code_1(monkeypatch, tmp_path):
    import arshjul.cli.serve as serve_cli
    import flows.simulate_year
    from arshjul.core.settings import get_settings
    from flows.simulation_outcome import SimulationStuck

    def stuck(*args, **kwargs):
        raise SimulationStuck("simuleringen kommer inte vidare: inget steg har rört sig på 60 arbetsdagar")

    monkeypatch.setenv("ARSHJUL_HOME", str(tmp_path))
    monkeypatch.setenv("ARSHJUL_SINK_PORT", str(free_port()))
    get_settings.cache_clear()
    monkeypatch.setattr(serve_cli, "EMBEDDED_PREFECT", False)
    monkeypatch.setattr(serve_cli, "require_prefect", lambda: None)
    monkeypatch.setattr(flows.simulate_year, "simulate", stuck)
    try:
        result = runner.invoke(app, ["simulate", "2027", "--org", str(SMALL_ORG)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "simuleringen kommer inte vidare" in result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
