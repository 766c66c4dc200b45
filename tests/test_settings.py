"""Settings parse the environment once, with defaults that work locally, and reject nonsense."""

from __future__ import annotations

import pytest

from chalicelib.settings import SettingsError, load_settings

pytestmark = pytest.mark.no_database  # pure rules: no DynamoDB Local for these


def test_defaults_work_locally():
    settings = load_settings({})
    assert settings.stage == "local"
    assert settings.table_name("contacts") == "beatline-local-contacts"
    assert settings.max_body_bytes == 16 * 1024 and settings.max_batch_body_bytes == 1024 * 1024
    assert settings.staff_algorithms == ("ES256",)
    assert settings.log_level == "INFO"


@pytest.mark.parametrize(
    "env",
    [
        {"BEATLINE_MAX_BODY_BYTES": "lots"},
        {"BEATLINE_MAX_BODY_BYTES": "10"},
        {"BEATLINE_CONTACT_RETENTION_DAYS": "0"},
        {"BEATLINE_TABLE_PREFIX": ""},
        {"BEATLINE_LOG_LEVEL": "chatty"},
    ],
)
def test_bad_values_fail_at_start(env):
    with pytest.raises(SettingsError):
        load_settings(env)


def test_log_level_is_case_insensitive():
    assert load_settings({"BEATLINE_LOG_LEVEL": " warning "}).log_level == "WARNING"


def test_emergency_numbers_default_to_999_and_101_and_take_digits_and_spaces_only():
    defaults = load_settings({})
    assert (defaults.emergency_number, defaults.non_emergency_number) == ("999", "101")
    chosen = load_settings({"BEATLINE_EMERGENCY_NUMBER": " 112 ", "BEATLINE_NON_EMERGENCY_NUMBER": "0300 123 4567"})
    assert (chosen.emergency_number, chosen.non_emergency_number) == ("112", "0300 123 4567")
    for bad in ("99a", "<b>999</b>", "999;", "+44 101", "1  01", "1" * 21, "9\t9"):
        with pytest.raises(SettingsError):
            load_settings({"BEATLINE_NON_EMERGENCY_NUMBER": bad})
