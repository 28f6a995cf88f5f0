"""What the Python binding tests share: the server scripts/test-bindings.sh
started (QAMQOR_URL, QAMQOR_SERVER_BIN, QAMQOR_DATA_DIR), its administration
command, and valid IINs."""

import os
import subprocess

URL = os.environ["QAMQOR_URL"]
SERVER_BIN = os.environ["QAMQOR_SERVER_BIN"]
DATA_DIR = os.environ["QAMQOR_DATA_DIR"]


def admin(*args):
    """Runs `qamqor-server <args>` on the test server's data: (code, stdout, stderr)."""
    env = dict(os.environ, QAMQOR_DATA_DIR=DATA_DIR)
    out = subprocess.run([SERVER_BIN, *args], env=env, capture_output=True, text=True)
    return out.returncode, out.stdout, out.stderr


def code_for(user):
    """A one-time enrollment code for `user`."""
    rc, out, err = admin("code", user)
    assert rc == 0, err
    return out.strip().split()[-1]


def ensure_user(user, role, districts):
    """Adds the user (already there on a second run: fine)."""
    args = ["user", "add", user, "--name", user, "--role", role]
    for d in districts:
        args += ["--district", d]
    admin(*args)


def iin(birth, female, rng):
    """A valid IIN for someone born on `birth`."""
    century = {18: 1, 19: 3, 20: 5}[birth.year // 100] + (1 if female else 0)
    while True:
        s = f"{birth:%y%m%d}{century}{rng.randrange(10000):04d}"
        d = [int(c) for c in s]
        r = sum(x * w for x, w in zip(d, range(1, 12))) % 11
        if r == 10:
            r = sum(x * w for x, w in zip(d, [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])) % 11
            if r == 10:
                continue
        return s + str(r)
