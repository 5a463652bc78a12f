"""The calendar file: RFC 5545 structure, escaping, folding, UTC times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.ics import CalendarEvent, build_ics, escape_text, fold


def test_event_in_utc_with_escaped_text() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    event = CalendarEvent(
        uid="a_1@bot",
        start=datetime(2030, 7, 1, 10, 0, tzinfo=madrid),
        end=datetime(2030, 7, 1, 10, 30, tzinfo=madrid),
        summary="Corte; lavado, peinado @ Madrid – Chamberí",
        location="Calle de Santa Engracia 45, 28010 Madrid",
        description="line1\nline2 \\ end",
    )
    data = build_ics(event, stamp=datetime(2030, 6, 1, tzinfo=ZoneInfo("UTC")))
    text = data.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    unfolded = text.replace("\r\n ", "")
    assert "DTSTART:20300701T080000Z" in unfolded
    assert "DTEND:20300701T083000Z" in unfolded
    assert "SUMMARY:Corte\\; lavado\\, peinado @ Madrid – Chamberí" in unfolded
    assert "DESCRIPTION:line1\\nline2 \\\\ end" in unfolded
    assert "UID:a_1@bot" in unfolded
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75


def test_fold_never_splits_a_character() -> None:
    line = "SUMMARY:" + "é€😀" * 40
    folded = fold(line)
    parts = folded.split("\r\n ")
    assert "".join(parts) == line
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert escape_text("a\r\nb") == "a\\nb"
