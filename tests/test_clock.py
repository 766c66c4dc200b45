from datetime import UTC, datetime, timedelta, timezone

from chalicelib.clock import parse_rfc3339, to_rfc3339
from tests.conftest import bearer


def test_rfc3339_pads_years_and_sorts_in_time_order():
    early = datetime(484, 3, 13, 21, 30, 24, tzinfo=UTC)
    later = datetime(2000, 12, 17, tzinfo=UTC)
    assert to_rfc3339(early) == "0484-03-13T21:30:24Z"
    assert to_rfc3339(early) < to_rfc3339(later)
    assert parse_rfc3339(to_rfc3339(early)) == early


def test_rfc3339_clamps_the_edges_of_datetime_instead_of_overflowing():
    assert to_rfc3339(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))) == "0001-01-01T00:00:00Z"
    assert to_rfc3339(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))) == "9999-12-31T23:59:59Z"


def test_list_filters_in_early_years_are_answered(client, staff_token):
    """Found by schemathesis: `from=0484-...` was written as `484-...` and DynamoDB refused the range (500)."""
    response = client.http.get("/v1/contacts?from=0484-03-13T21%3A30%3A24Z&to=2000-12-16T05%3A13%3A33-19%3A42"
                               "&team=mine&kind=online", headers=bearer(staff_token("supervisor")))
    assert response.status_code == 200, response.body
    assert response.json_body["items"] == []


def test_times_at_the_edge_of_datetime_are_400_not_500(client, staff_token):
    """Year 1 with a positive offset has no UTC value datetime can hold."""
    response = client.http.get("/v1/history/stats?from=0001-01-01T00%3A00%3A00%2B05%3A00&to=0001-01-02T00%3A00%3A00Z"
                               "&by=kind&purpose=edge%20of%20time", headers=bearer(staff_token("analyst")))
    assert response.status_code == 400, response.body
