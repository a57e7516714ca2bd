"""Integration tests run against the real Docker engine (see docker_fixtures.py)."""

from docker_fixtures import *
