"""Importing functions/main.py needs no credentials and no network: clients are created lazily."""

import subprocess
import sys
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"

PROBE = """
import socket, sys
attempts = []
sys.addaudithook(lambda event, args: attempts.append((event, args))
                 if event in ("socket.connect", "socket.getaddrinfo") else None)
import main
assert callable(main.export_labeled_data) and callable(main.split_export)
print(len(attempts))
"""


def test_import_makes_no_connection_and_needs_no_credentials(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),  # no ADC, no emulator variables
           "PYTHONPATH": str(FUNCTIONS)}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=FUNCTIONS, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0", "importing main tried to reach the network"
