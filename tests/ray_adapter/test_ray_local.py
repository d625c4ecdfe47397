"""The local Ray the tests (and `create_ray_adapter()` without a Ray) start: confined to loopback. And the
Ray adapter's factory without Ray installed."""

from __future__ import annotations

import ipaddress
import subprocess
import sys

import psutil
import pytest

from enclave_vm.adapters.ray import start_local_ray
from enclave_vm.adapters.ray.local import LOOPBACK_ENVIRONMENT


def ray_processes() -> list[psutil.Process]:
    """The processes of the local Ray this test process started (its GCS, raylet, workers...)."""
    return psutil.Process().children(recursive=True)


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def test_every_ray_process_listens_and_talks_on_loopback_only(local_ray: None) -> None:
    processes = ray_processes()
    names = {process.name() for process in processes}
    assert {"gcs_server", "raylet"} <= names, names
    listening = 0
    for process in processes:
        try:
            connections = process.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        for connection in connections:
            assert is_loopback(connection.laddr.ip), (process.name(), connection)
            if connection.raddr:
                assert is_loopback(connection.raddr.ip), (process.name(), connection)
            listening += connection.status == psutil.CONN_LISTEN
    assert listening > 0


def test_no_api_server_process_probes_for_cloud_metadata(local_ray: None) -> None:
    # Ray's API server runs a usage-stats module that asks cloud metadata addresses whatever the setting.
    commands = [" ".join(process.cmdline()) for process in ray_processes()]
    assert not [command for command in commands if "dashboard/dashboard.py" in command], commands


def test_ray_processes_inherit_the_loopback_settings(local_ray: None) -> None:
    raylet = next(process for process in ray_processes() if process.name() == "raylet")
    environment = raylet.environ()
    for name, value in LOOPBACK_ENVIRONMENT.items():
        assert environment.get(name) == value, name


@pytest.mark.parametrize("option", ["address", "_node_ip_address", "include_dashboard", "dashboard_host"])
def test_start_local_ray_refuses_options_that_undo_the_confinement(option: str) -> None:
    with pytest.raises(ValueError, match=option):
        start_local_ray(**{option: "0.0.0.0"})


def test_start_local_ray_refuses_a_bad_cpu_count() -> None:
    with pytest.raises(ValueError, match="num_cpus"):
        start_local_ray(num_cpus=0)


def test_without_ray_the_factory_names_the_extra() -> None:
    script = (
        "import sys\n"
        "sys.modules['ray'] = None  # as if the extra were not installed\n"
        "from enclave_vm import create_ray_adapter\n"
        "try:\n"
        "    create_ray_adapter()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert "enclave-vm[ray]" in done.stdout, done.stdout + done.stderr
