"""The demo's story, shortened to its first weeks (the whole year is `./dev demo`): a real
server, real traffic, labels four days late, the loop deciding and saying why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from seismo.examples.story import run_story, summary_lines


def test_the_story_runs_and_tells_what_it_decided(tmp_path: Path) -> None:
    said: list[str] = []
    result = run_story(tmp_path, say=said.append, until=datetime(2013, 3, 21, tzinfo=UTC))
    assert [w.start.date().isoformat() for w in result.weeks] == [
        "2013-02-28",
        "2013-03-07",
        "2013-03-14",
    ]
    assert sum(w.rows for w in result.weeks) > 15_000
    assert any("seismo serve at http://127.0.0.1:" in line for line in said)
    # Every decision the service recorded was told as it happened, and summarised at the end.
    told = "\n".join(said)
    for decision in result.decisions:
        assert decision["summary"] in told
    lines = summary_lines(result)
    assert any(line.startswith("  v1 ") for line in lines)
    assert result.versions[0]["lineage"]["training_sample"]["rows"] == 5000
    assert (tmp_path / "seismo.yaml").is_file() and (tmp_path / "server.log").is_file()
