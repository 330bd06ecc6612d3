"""Retention: old predictions go, window summaries stay, and the monitor leaves windows before
the retention horizon alone (their rows are gone; rebuilding would shrink them)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from seismo.cli import EXIT_INPUT, app
from seismo.monitor import WindowState
from seismo.store import Label, Prediction, open_store
from tests.alerts.scenario import DAY0, Production


def test_pruned_windows_keep_their_summaries_and_late_rows_do_not_shrink_them(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'seismo.db'}"
    store = open_store(url, upgrade=True)
    try:
        production = Production(store, [])
        production.stable(3, rows=300)
        before = {w.start: WindowState.from_bytes(w.payload).rows for w in store.get_windows("m")}
        assert list(before.values()) == [300, 300, 300]

        result = CliRunner().invoke(
            app, ["db", "prune", "--store", url, "--before", "2026-03-04T13:00:00Z"]
        )
        assert result.exit_code == 0, result.output
        # Moved back to the start of its (daily) window: days 1 and 2 go, day 3 stays.
        assert "m: deleted 600 predictions made before 2026-03-04T00:00:00+00:00" in result.output
        assert store.count_predictions("m") == 300

        # A late prediction and a late label for the pruned days: nothing to rebuild from.
        late = Prediction("late", "m", 1, DAY0 + timedelta(hours=5), {}, "no", 0.2)
        store.add_predictions([late])
        store.add_labels([Label("d0-1", "yes", DAY0 + timedelta(days=5))])  # deleted: unknown
        report = production.monitor.run()
        assert report.skipped_windows == 1 and report.windows == []
        after = {w.start: WindowState.from_bytes(w.payload).rows for w in store.get_windows("m")}
        assert after == before

        # Windows after the horizon still update.
        production.live(rows=200)
        rows = sorted(WindowState.from_bytes(w.payload).rows for w in store.get_windows("m"))
        assert rows == [200, 300, 300, 300]
    finally:
        store.close()


def test_prune_refuses_a_bad_date_or_model(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seismo.db'}"
    open_store(url, upgrade=True).close()
    bad_date = CliRunner().invoke(app, ["db", "prune", "--store", url, "--before", "soon"])
    assert bad_date.exit_code == EXIT_INPUT
    assert bad_date.stderr.strip() == (
        "error: --before 'soon': not an ISO 8601 date, e.g. 2026-01-01"
    )
    unknown = CliRunner().invoke(
        app, ["db", "prune", "--store", url, "--before", "2026-01-01", "--model", "ghost"]
    )
    assert unknown.exit_code == EXIT_INPUT
    assert "'ghost': no such model" in unknown.stderr
