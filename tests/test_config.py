"""Settings merging: defaults < fink-client credentials < own file < environment < CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from fink_tui.config import ConfigError, Settings, load_settings, search_directories


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


FC12 = """survey: lsst
username: astro
password: s3cr3t-pw
servers: kafka-lsst.example:24499
groupid: lsst_group
maxtimeout: 7
topics:
  - fink_early_sn_candidates_lsst
  - fink_sso_lsst
"""
FC8 = """username: old
password: null
group_id: old_group
servers: kafka.example:24499
mytopics: [fink_sso_ztf_candidates_ztf]
maxtimeout: 10
"""


def test_defaults(isolated_env: Path) -> None:
    """With nothing configured: ZTF, no servers, and a clear error when servers are needed."""
    settings = load_settings(env={})
    assert settings.survey == "ztf" and settings.topics == ()
    with pytest.raises(ConfigError, match="not set: Kafka servers"):
        settings.kafka_config()


def test_finkclient_12_per_survey_file(isolated_env: Path) -> None:
    """--survey lsst reads lsst_credentials.yml with fink-client 12's keys (groupid, topics)."""
    dirs = search_directories()
    write(dirs.finkclient / "lsst_credentials.yml", FC12)
    s = load_settings({"survey": "lsst"})
    assert s.group_id == "lsst_group"
    assert s.topics == ("fink_early_sn_candidates_lsst", "fink_sso_lsst")
    assert s.servers == "kafka-lsst.example:24499" and s.maxtimeout == 7.0
    assert s.uses_sasl
    conf = s.kafka_config()
    assert conf["security.protocol"] == "sasl_plaintext"
    assert conf["sasl.mechanism"] == "SCRAM-SHA-512"


def test_finkclient_8_file(isolated_env: Path) -> None:
    """fink-client 8's credentials.yml (group_id, mytopics, password null) is read for ZTF."""
    write(search_directories().finkclient / "credentials.yml", FC8)
    s = load_settings({})
    assert s.group_id == "old_group" and s.topics == ("fink_sso_ztf_candidates_ztf",)
    assert s.username == "old" and s.password == "" and not s.uses_sasl
    conf = s.kafka_config()
    assert "security.protocol" not in conf and "sasl.username" not in conf
    assert conf["group.id"] == "old_group"


def test_username_without_password_is_plain_kafka(isolated_env: Path) -> None:
    """As Fink's Livestream is read today: a group id, no SASL."""
    s = Settings(servers="h:1", group_id="g", username="me")
    assert "security.protocol" not in s.kafka_config()


def test_priority_order(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Own config file beats fink-client, environment beats file, CLI beats environment."""
    dirs = search_directories()
    write(dirs.finkclient / "ztf_credentials.yml", FC12.replace("lsst_group", "fc_group"))
    write(
        dirs.config / "config.toml",
        'group_id = "file_group"\nmaxtimeout = 3\n'
        '[kafka]\n"fetch.max.bytes" = 1000\n"enable.partition.eof" = false\n'
        '[ztf]\ntopics = ["fink_kn_candidates_ztf"]\n',
    )
    s = load_settings({})
    assert s.group_id == "file_group" and s.maxtimeout == 3.0
    assert s.topics == ("fink_kn_candidates_ztf",)
    assert s.kafka_config()["fetch.max.bytes"] == "1000"
    assert s.kafka_config()["enable.partition.eof"] == "false"
    monkeypatch.setenv("FINK_TUI_GROUP_ID", "env_group")
    monkeypatch.setenv("FINK_TUI_PASSWORD", "from-env")
    s = load_settings({})
    assert s.group_id == "env_group" and s.password == "from-env"
    s = load_settings({"group_id": "cli_group", "topics": "a,b", "kafka": ["client.id=me"]})
    assert s.group_id == "cli_group" and s.topics == ("a", "b")
    assert s.kafka_config()["client.id"] == "me"
    assert s.sources[-1] == "command line"


def test_config_option_names_a_credentials_file(isolated_env: Path, tmp_path: Path) -> None:
    """--config FILE reads that fink-client file instead of ~/.finkclient."""
    path = write(tmp_path / "mine.yml", FC8)
    s = load_settings({}, credentials_file=str(path))
    assert s.group_id == "old_group"
    with pytest.raises(ConfigError, match="no such"):
        load_settings({}, credentials_file=str(tmp_path / "missing.yml"))


def test_bad_inputs_are_clear(isolated_env: Path, tmp_path: Path) -> None:
    """Unknown survey, broken YAML, unknown keys and bad -X values name the culprit."""
    with pytest.raises(ConfigError, match="unknown survey"):
        load_settings({"survey": "hst"})
    broken = write(tmp_path / "broken.yml", "username: [unclosed")
    with pytest.raises(ConfigError, match="broken.yml"):
        load_settings({}, credentials_file=str(broken))
    write(search_directories().config / "config.toml", "colour = 'red'\n")
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        load_settings({})
    (search_directories().config / "config.toml").unlink()
    with pytest.raises(ConfigError, match="key=value"):
        load_settings({"kafka": ["novalue"]})


def test_password_never_in_repr(isolated_env: Path) -> None:
    """The password stays out of repr/str and is masked by redact()."""
    s = Settings(servers="h:1", group_id="g", username="me", password="hunter2-secret")
    assert "hunter2-secret" not in repr(s) and "hunter2-secret" not in str(s)
    assert s.redact("failed for hunter2-secret") == "failed for ********"


def test_directories_follow_the_environment(isolated_env: Path) -> None:
    """Every path comes from one function that the environment redirects."""
    dirs = search_directories()
    assert str(dirs.config).startswith(str(isolated_env))
    assert str(dirs.exports).startswith(str(isolated_env))


def test_broken_yaml_never_quotes_the_password(isolated_env: Path, tmp_path: Path) -> None:
    """YAML errors quote the offending line; fink-tui says only where it is."""
    bad = write(tmp_path / "creds.yml", 'username: me\npassword: "s3cret-in-yaml\n')
    with pytest.raises(ConfigError) as caught:
        load_settings({}, credentials_file=str(bad))
    assert "s3cret-in-yaml" not in str(caught.value) and "line" in str(caught.value)


def test_secrets_in_kafka_settings_are_redacted(isolated_env: Path) -> None:
    """A password passed as -X sasl.password=... is redacted and kept out of repr; -X cannot
    switch off the at-least-once offset handling."""
    s = load_settings(
        {
            "servers": "h:1",
            "group_id": "g",
            "kafka": ["sasl.password=x-very-secret", "enable.auto.offset.store=true"],
        }
    )
    assert "x-very-secret" not in repr(s)
    assert s.redact("auth failed for x-very-secret") == "auth failed for ********"
    from fink_tui.core.clients import ErrorTracker, consumer_config

    conf = consumer_config(s, ErrorTracker(s))
    assert conf["enable.auto.offset.store"] is False
    assert conf["sasl.password"] == "x-very-secret"  # still used, only never shown


def test_no_credentials_message_says_everything(isolated_env: Path) -> None:
    """With nothing set, one message names what is missing, where each fink-client version
    keeps the credentials, its registration commands (finkctl for 12, fink_client_register
    before), fink-tui's flags and the demo; with everything set it is empty."""
    from fink_tui.config import missing_settings_message, require_connection

    text = missing_settings_message(load_settings({"survey": "lsst"}))
    assert "not set: Kafka servers, consumer group, topics" in text
    assert "lsst_credentials.yml" in text
    assert (
        "fink_client_register -survey lsst -username USERNAME -group_id GROUP_ID "
        "-servers HOST:PORT -mytopics TOPIC1 TOPIC2" in text
    )
    assert "finkctl auth register -survey lsst -username USERNAME -groupid GROUP_ID" in text
    assert "finkctl topic subscribe -survey lsst -name TOPIC" in text
    assert "--survey lsst --servers HOST:PORT --group-id GROUP_ID --topics TOPIC1,TOPIC2" in text
    assert "--config FILE" in text
    assert "make demo" in text
    assert "credentials.yml (fink-client 9" not in text  # fink-client 9 knew only ZTF
    ztf = missing_settings_message(load_settings({}))
    assert "ztf_credentials.yml (fink-client 10+) or " in ztf
    assert "credentials.yml (fink-client 9 and older)" in ztf
    only_servers = missing_settings_message(Settings(), group=False, topics=False)
    assert "not set: Kafka servers (" in only_servers
    full = Settings(servers="h:1", group_id="g", topics=("t",))
    assert missing_settings_message(full) == ""
    require_connection(full)
    with pytest.raises(ConfigError, match="not set: topics"):
        require_connection(Settings(servers="h:1", group_id="g"))


def test_survey_and_blank_password_in_own_file(isolated_env: Path) -> None:
    """config.toml may choose the survey; an empty password there unsets fink-client's."""
    dirs = search_directories()
    write(dirs.finkclient / "lsst_credentials.yml", FC12)
    write(dirs.config / "config.toml", 'survey = "lsst"\npassword = ""\n')
    s = load_settings({})
    assert s.survey == "lsst" and s.group_id == "lsst_group"
    assert s.password == "" and not s.uses_sasl


def test_values_are_normalised(isolated_env: Path) -> None:
    """Spaces around servers and topics go; repeated topics count once; YAML numbers for a
    group or a user name are read as text."""
    s = load_settings({"servers": " a:1 , b:2 ", "topics": "x, y,x,", "group_id": "g"})
    assert s.servers == "a:1,b:2" and s.topics == ("x", "y")
    creds = write(search_directories().finkclient / "ztf_credentials.yml", "groupid: 1234\n")
    assert load_settings({}).group_id == "1234" and str(creds) in load_settings({}).sources


def test_secret_values_never_in_errors(isolated_env: Path, tmp_path: Path) -> None:
    """A malformed password or secret librdkafka value is described, never quoted."""
    path = write(tmp_path / "c.yml", "password: [hunter2-in-list]\n")
    with pytest.raises(ConfigError) as caught:
        load_settings({}, credentials_file=str(path))
    assert "hunter2" not in str(caught.value) and "password" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_settings({"password": "pw-\x07-bell-secret"})
    assert "bell-secret" not in str(caught.value)
