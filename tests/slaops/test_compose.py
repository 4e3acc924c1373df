"""docker-compose.yml stays in step with the settings and the README."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def settings_variables() -> set[str]:
    source = "".join(p.read_text() for p in (ROOT / "slaops").glob("*.py"))
    return set(re.findall(r'env_(?:str|bool|int|list|database)\("([A-Z_]+)"', source))


def test_every_variable_compose_sets_is_read_by_the_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["x-app"]["environment"]
    assert set(env) <= settings_variables()


def test_every_setting_variable_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = {name for name in settings_variables() if f"`{name}`" not in readme}
    assert missing == set()


def test_compose_runs_web_worker_and_exactly_one_beat_from_one_image():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    images = {services[name]["image"] for name in ("web", "worker", "beat")}
    assert images == {"slaops:latest"}
    assert services["beat"]["deploy"]["replicas"] == 1
