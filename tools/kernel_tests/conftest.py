"""Shared helpers for the kernel protocol tests: start kernels from the installed specs, talk raw ZeroMQ."""
import os
import sys
import time

import pytest
import zmq
from jupyter_client.manager import KernelManager, start_new_kernel
from jupyter_client.session import Session

sys.path.insert(0, os.path.dirname(__file__))
from samples import KERNEL_NAME, KERNEL_NAME_MESSAGE  # noqa: E402

TIMEOUT = 15


@pytest.fixture
def kernel():
    """A started kernel (signal interrupt mode) and a ready blocking client."""
    km, kc = start_new_kernel(kernel_name=KERNEL_NAME)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.fixture
def message_kernel():
    """A started kernel whose spec says interrupt_mode "message"."""
    km, kc = start_new_kernel(kernel_name=KERNEL_NAME_MESSAGE)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def start_with_env(**env):
    km = KernelManager(kernel_name=KERNEL_NAME)
    km.start_kernel(env={**os.environ, **env})
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc


class RawChannel:
    """A DEALER socket on one of the kernel's ROUTER ports, for sending hand-made (bad) frames."""

    def __init__(self, km, port_name, key=None):
        info = km.get_connection_info()
        self.context = zmq.Context.instance()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.connect(f"{info['transport']}://{info['ip']}:{info[port_name]}")
        self.session = Session(key=info["key"] if key is None else key, signature_scheme="hmac-sha256")

    def send(self, msg_type, content=None, **kw):
        msg = self.session.msg(msg_type, content or {}, **kw)
        self.session.send(self.socket, msg)
        return msg

    def send_frames(self, frames):
        self.socket.send_multipart(frames)

    def recv(self, timeout=TIMEOUT):
        """Next message (signature checked by Session), or None after `timeout` seconds."""
        if not self.socket.poll(int(timeout * 1000)):
            return None
        frames = self.socket.recv_multipart(copy=True)
        _idents, rest = self.session.feed_identities(frames)
        return self.session.deserialize(rest)

    def close(self):
        self.socket.close(linger=0)


def wait_idle_for(kc, msg_id, timeout=TIMEOUT):
    """iopub messages whose parent is msg_id, up to and including its idle status."""
    deadline = time.monotonic() + timeout
    messages = []
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
        except Exception:
            break
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages
    raise AssertionError(f"no idle for {msg_id}; got {[m['msg_type'] for m in messages]}")
