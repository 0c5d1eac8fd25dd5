"""The `cluster` tier: one real control plane for the whole session (fixture `kube`, in
tests/conftest.py, shared with the `node` tier)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.kube import Kube
from tests.cluster.namespaces import SEEN, create_namespace, delete_namespace, still_terminating


@pytest.fixture(scope="session", autouse=True)
def no_namespace_left_terminating(kube: Kube) -> Iterator[None]:
    """At the end of the session, no namespace a test made is still Terminating (a finalizer
    nobody removes would hold it, and the next session's cluster, forever)."""
    yield
    stuck = still_terminating(kube, SEEN)
    assert stuck == {}, f"test namespaces left Terminating: {stuck}"


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (without waiting; its ModelDeployments'
    finalizers released first: the test's operator is gone by then, see `namespaces`)."""
    name = create_namespace(kube)
    yield name
    delete_namespace(kube, name)
