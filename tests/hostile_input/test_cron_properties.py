"""Property-based tests for cron parsing (schedules.timing / schedules.selectors).

Whatever a person types as a cron expression is either accepted (and then beat can run it, the
admin can describe it and preview its next runs) or refused with a ValidationError on "schedule"
— never another exception.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from schedules.selectors import cron_in_words, cron_next_runs
from schedules.timing import parse_schedule, validate_cron

FIELD_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
ZONES = ["UTC", "Asia/Kuala_Lumpur", "Europe/London", "America/New_York", "Australia/Lord_Howe"]
AFTER = datetime(2026, 3, 1, tzinfo=UTC)

cron_characters = st.text(alphabet="0123456789*/-,? LW#abcdefghijklmnopqrstuvwxyzJFMASOND\t", max_size=40)


def field(low: int, high: int):
    number = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        number.map(str),
        st.tuples(number, number).map(lambda pair: f"{min(pair)}-{max(pair)}"),
        st.integers(1, high - low + 1).map(lambda step: f"*/{step}"),
        st.lists(number, min_size=1, max_size=4, unique=True).map(lambda items: ",".join(map(str, sorted(items)))),
    )


well_formed = st.tuples(*(field(low, high) for low, high in FIELD_RANGES)).map(" ".join)


@hypothesis_settings(max_examples=400, deadline=None)
@given(st.one_of(cron_characters, st.text(max_size=60)))
@example("")
@example("* * * * * *")
@example("61 * * * *")
@example("*/0 * * * *")
@example("0 0 31 2 *")
@example("0 9 * * 1-5\x00")
def test_any_text_is_either_a_valid_cron_or_a_schedule_error_never_a_crash(text):
    try:
        normalised = validate_cron(text)
    except ValidationError as error:
        assert set(error.message_dict) == {"schedule"}
        assert error.message_dict["schedule"][0].strip()
        return
    assert len(normalised.split()) == 5
    assert validate_cron(normalised) == normalised  # normalising twice changes nothing


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(well_formed, st.sampled_from(ZONES))
@example("30 2 8 3 *", "America/New_York")
@example("30 1 * * *", "Europe/London")
@example("0 * */11 */5 */3", "America/New_York")
def test_a_well_formed_cron_is_accepted_described_and_its_next_runs_match_it(expression, zone_name):
    try:
        timing = parse_schedule({"cron": expression}, zone=ZoneInfo(zone_name))
    except ValidationError as error:
        # Only an impossible date (e.g. 30 February) may be refused, and the message must name it.
        message = error.message_dict["schedule"][0]
        assert (repr(expression) in message and "never occurs" in message) or "not valid" in message, message
        return
    assert timing.cron == expression
    assert cron_in_words(expression).strip()
    zone = ZoneInfo(zone_name)
    runs = cron_next_runs(expression, zone=zone, after=AFTER, count=5)
    assert len(runs) == 5
    # Compared as instants: two runs in the repeated autumn hour share a wall time (and compare equal
    # as same-zone datetimes) but are an hour apart.
    assert all(earlier.timestamp() < later.timestamp() for earlier, later in zip(runs, runs[1:], strict=False))
    assert runs[0] > AFTER
    for run in runs:
        # Each run is a wall-clock slot the expression names, or, for slots in a spring-forward gap,
        # the moment the clocks change (as cron and beat run them).
        wall = run.replace(tzinfo=None)
        gap = run.utcoffset() - (run - timedelta(minutes=1)).astimezone(zone).utcoffset()
        skipped = [wall - timedelta(minutes=back) for back in range(1, int(gap.total_seconds() // 60) + 1)]
        assert any(croniter.match(expression, moment, day_or=False) for moment in [wall, *skipped]), (
            expression, zone_name, run,
        )


def test_a_cron_whose_step_is_wider_than_its_field_is_described_without_crashing():
    # Found by the property above: cron-descriptor raised on these although beat runs them.
    for expression in ("0 0 * * */7", "0 0 * */13 *", "0 0 1 1 */8"):
        assert validate_cron(expression) == expression
        assert expression in cron_in_words(expression)
