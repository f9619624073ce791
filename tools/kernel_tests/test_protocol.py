"""Behaviour jupyter_kernel_test does not cover: interrupts, control concurrency, bad input, shutdown,
stop_on_error, silent execution, streaming, unicode cursors, transports, and a load test."""
import json
import os
import signal
import subprocess
import tempfile
import time

import nbformat
import pytest
import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session
from nbclient import NotebookClient

from conftest import TIMEOUT, RawChannel, start_with_env, wait_idle_for
from samples import KERNEL_NAME, SAMPLES


def run(kc, code, **kw):
    """Execute and return (reply, iopub messages up to idle)."""
    msg_id = kc.execute(code, **kw)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["parent_header"]["msg_id"] == msg_id
    return reply, wait_idle_for(kc, msg_id)


def outputs_of(messages):
    return [m for m in messages if m["msg_type"] not in ("status", "execute_input")]


def interrupt_roundtrip(km, kc, send_interrupt):
    run(kc, SAMPLES["code_bind"])
    msg_id = kc.execute(SAMPLES["code_long_running"])
    time.sleep(0.5)
    started = time.monotonic()
    send_interrupt()
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    latency = time.monotonic() - started
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error"
    assert latency < 1.0, f"interrupt took {latency:.2f}s"
    messages = wait_idle_for(kc, msg_id)
    assert [m["msg_type"] for m in outputs_of(messages)] == ["error"]
    # The session keeps its bindings after the interrupt.
    reply, messages = run(kc, SAMPLES["code_read_binding"])
    assert reply["content"]["status"] == "ok"
    results = [m for m in messages if m["msg_type"] == "execute_result"]
    assert results[0]["content"]["data"]["text/plain"] == SAMPLES["binding_value"]
    return latency


def test_interrupt_signal_mode(kernel):
    km, kc = kernel
    assert km.kernel_spec.interrupt_mode == "signal"
    interrupt_roundtrip(km, kc, km.interrupt_kernel)


def test_interrupt_message_mode(message_kernel):
    km, kc = message_kernel
    assert km.kernel_spec.interrupt_mode == "message"
    interrupt_roundtrip(km, kc, km.interrupt_kernel)


def test_interrupt_request_on_control_is_answered(kernel):
    km, kc = kernel
    msg = kc.session.msg("interrupt_request", {})
    kc.control_channel.send(msg)
    reply = kc.control_channel.get_msg(timeout=TIMEOUT)
    assert reply["msg_type"] == "interrupt_reply" and reply["content"]["status"] == "ok"


def test_sigint_while_idle_is_survived(kernel):
    km, kc = kernel
    for _ in range(3):
        km.signal_kernel(signal.SIGINT)
        time.sleep(0.05)
    time.sleep(0.2)
    assert km.is_alive()
    reply, _ = run(kc, "1+2")
    assert reply["content"]["status"] == "ok"


def test_control_kernel_info_during_execution(kernel):
    km, kc = kernel
    msg_id = kc.execute("sleep 2")
    time.sleep(0.3)
    started = time.monotonic()
    kc.control_channel.send(kc.session.msg("kernel_info_request"))
    reply = kc.control_channel.get_msg(timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    assert reply["msg_type"] == "kernel_info_reply"
    assert reply["content"]["language_info"]["name"] == SAMPLES["language_name"]
    assert elapsed < 0.5, f"control answered after {elapsed:.2f}s, so it waited for the execution"
    # The execution is still running and finishes normally.
    execute_reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert execute_reply["parent_header"]["msg_id"] == msg_id
    assert execute_reply["content"]["status"] == "ok"


def test_heartbeat_answers_during_execution(kernel):
    km, kc = kernel
    info = km.get_connection_info()
    kc.execute("sleep 1")
    time.sleep(0.2)
    socket = zmq.Context.instance().socket(zmq.REQ)
    socket.linger = 0
    socket.connect(f"tcp://{info['ip']}:{info['hb_port']}")
    socket.send(b"ping")
    assert socket.poll(500), "no heartbeat echo within 0.5 s"
    assert socket.recv() == b"ping"
    socket.close()
    kc.get_shell_msg(timeout=TIMEOUT)


def test_bad_signature_is_dropped(kernel):
    km, kc = kernel
    raw = RawChannel(km, "shell_port", key=b"not-the-key")
    raw.send("kernel_info_request")
    assert raw.recv(timeout=1.0) is None, "a message with a bad signature was answered"
    raw.close()
    kc.kernel_info()
    assert kc.get_shell_msg(timeout=TIMEOUT)["msg_type"] == "kernel_info_reply"


def test_malformed_frames_and_json_are_ignored(kernel):
    km, kc = kernel
    raw = RawChannel(km, "shell_port")
    session = raw.session

    def signed(header, parent=b"{}", metadata=b"{}", content=b"{}"):
        parts = [header, parent, metadata, content]
        return [b"<IDS|MSG>", session.sign(parts)] + parts

    header = session.pack(session.msg_header("kernel_info_request"))
    bad = [
        [b"just one frame"],
        [b"<IDS|MSG>", b"sig"],  # too few frames
        signed(b"{not json"),  # signed, but the header is not JSON
        signed(b"[1, 2]"),  # JSON but not an object
        signed(json.dumps({"msg_id": "x"}).encode()),  # no msg_type
        signed(header, content=b"\x00" * 10),
    ]
    for frames in bad:
        raw.send_frames(frames)
    assert raw.recv(timeout=1.0) is None
    # Invalid UTF-8 inside a valid, signed message is repaired (U+FFFD), so the request is still answered.
    utf8_header = session.pack(session.msg_header("is_complete_request"))
    raw.send_frames(signed(utf8_header, content=b'{"code": "print \\"\xff\xfe\\""}'))
    reply = raw.recv(timeout=5.0)
    assert reply is not None and reply["msg_type"] == "is_complete_reply"
    assert reply["content"]["status"] == "complete"
    raw.close()
    assert km.is_alive()
    kc.kernel_info()
    assert kc.get_shell_msg(timeout=TIMEOUT)["msg_type"] == "kernel_info_reply"


def test_oversized_message_is_dropped():
    km, kc = start_with_env(TLSH_KERNEL_MAX_MESSAGE_BYTES=str(1 << 20))
    try:
        raw = RawChannel(km, "shell_port")
        raw.send("execute_request", {"code": "x" * (2 << 20), "silent": False})
        assert raw.recv(timeout=1.0) is None
        raw.close()
        reply, _ = run(kc, "1+2")
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_unknown_message_type_gets_busy_idle_and_no_reply(kernel):
    km, kc = kernel
    msg = kc.session.msg("frobnicate_request", {})
    kc.shell_channel.send(msg)
    statuses = [m["content"]["execution_state"] for m in wait_idle_for(kc, msg["header"]["msg_id"])
                if m["msg_type"] == "status"]
    assert statuses == ["busy", "idle"]
    with pytest.raises(Exception):
        kc.get_shell_msg(timeout=0.5)


@pytest.mark.parametrize("msg_type,content", [
    ("kernel_info_request", {}),
    ("complete_request", {"code": "pr", "cursor_pos": 2}),
    ("inspect_request", {"code": "print", "cursor_pos": 2, "detail_level": 0}),
    ("is_complete_request", {"code": "1+"}),
    ("history_request", {"hist_access_type": "tail", "n": 3, "output": False, "raw": True}),
    ("comm_info_request", {}),
])
def test_busy_idle_around_every_request(kernel, msg_type, content):
    km, kc = kernel
    msg = kc.session.msg(msg_type, content)
    kc.shell_channel.send(msg)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["msg_type"] == msg_type.replace("_request", "_reply")
    assert reply["header"]["version"] >= "5.3"
    messages = wait_idle_for(kc, msg["header"]["msg_id"])
    assert [m["content"]["execution_state"] for m in messages if m["msg_type"] == "status"] == ["busy", "idle"]


def test_comm_info_empty_and_unknown_comm_closed(kernel):
    km, kc = kernel
    kc.comm_info()
    assert kc.get_shell_msg(timeout=TIMEOUT)["content"]["comms"] == {}
    msg = kc.session.msg("comm_open", {"comm_id": "c1", "target_name": "nope", "data": {}})
    kc.shell_channel.send(msg)
    messages = wait_idle_for(kc, msg["header"]["msg_id"])
    closes = [m for m in messages if m["msg_type"] == "comm_close"]
    assert closes and closes[0]["content"]["comm_id"] == "c1"


def test_stop_on_error_aborts_queued_requests(kernel):
    km, kc = kernel
    first = kc.execute(SAMPLES["code_generate_error"])
    queued = [kc.execute('print "should not run"'), kc.execute("1+1")]
    replies = {}
    for _ in range(3):
        reply = kc.get_shell_msg(timeout=TIMEOUT)
        replies[reply["parent_header"]["msg_id"]] = reply["content"]["status"]
    assert replies == {first: "error", queued[0]: "aborted", queued[1]: "aborted"}
    # Later requests run again.
    assert run(kc, "1+1")[0]["content"]["status"] == "ok"
    # Without stop_on_error, queued requests run.
    kc.execute(SAMPLES["code_generate_error"], stop_on_error=False)
    after = kc.execute("1+1")
    statuses = {}
    for _ in range(2):
        reply = kc.get_shell_msg(timeout=TIMEOUT)
        statuses[reply["parent_header"]["msg_id"]] = reply["content"]["status"]
    assert statuses[after] == "ok"


def test_error_reply_and_iopub_error(kernel):
    km, kc = kernel
    reply, messages = run(kc, SAMPLES["code_generate_error"])
    content = reply["content"]
    assert content["status"] == "error" and content["ename"] and isinstance(content["traceback"], list)
    errors = [m for m in messages if m["msg_type"] == "error"]
    assert len(errors) == 1 and errors[0]["content"]["ename"] == content["ename"]
    assert content["execution_count"] >= 1


def test_silent_and_store_history(kernel):
    km, kc = kernel
    count = run(kc, "1+2")[0]["content"]["execution_count"]
    reply, messages = run(kc, SAMPLES["code_hello_world"], silent=True)
    assert reply["content"]["execution_count"] == count
    assert [m["msg_type"] for m in messages] == ["status", "status"]
    reply, messages = run(kc, "1+2", store_history=False)
    assert reply["content"]["execution_count"] == count
    assert any(m["msg_type"] == "execute_result" for m in messages)
    assert run(kc, "1+2")[0]["content"]["execution_count"] == count + 1
    # An empty silent request just reads the counter.
    assert run(kc, "", silent=True)[0]["content"]["execution_count"] == count + 1


def test_stream_arrives_while_running(kernel):
    km, kc = kernel
    started = time.monotonic()
    msg_id = kc.execute(SAMPLES["code_stream_then_wait"])
    while True:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            break
    early = time.monotonic() - started
    assert "early" in msg["content"]["text"]
    assert early < 0.6, f"first stream output only after {early:.2f}s"
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["content"]["status"] == "ok"
    rest = wait_idle_for(kc, msg_id)
    assert any("late" in m["content"].get("text", "") for m in rest if m["msg_type"] == "stream")


def test_display_data_png_and_update_display(kernel):
    km, kc = kernel
    _, messages = run(kc, "picture")
    display = [m for m in messages if m["msg_type"] == "display_data"][0]["content"]
    import base64
    png = base64.b64decode(display["data"]["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert display["metadata"]["image/png"] == {"width": 2, "height": 2}
    assert "text/plain" in display["data"]
    _, messages = run(kc, SAMPLES["code_progress"])
    first = [m for m in messages if m["msg_type"] == "display_data"][0]["content"]
    display_id = first["transient"]["display_id"]
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert updates and all(u["content"]["transient"]["display_id"] == display_id for u in updates)


@pytest.mark.parametrize("prefix", ["🎉🎉 ", "e\u0301 ", "日本 "])
def test_completion_cursor_in_code_points(kernel, prefix):
    km, kc = kernel
    code = prefix + "pr"
    kc.complete(code, cursor_pos=len(code))  # Python len() counts code points
    content = kc.get_shell_msg(timeout=TIMEOUT)["content"]
    assert content["cursor_start"] == len(prefix)
    assert content["cursor_end"] == len(code)
    assert set(content["matches"]) == {"print", "progress"}


def test_history_search_and_output(kernel):
    km, kc = kernel
    for code in ["1+2", "6*7", "6*7"]:
        run(kc, code)
    kc.history(hist_access_type="tail", n=2, output=True, raw=True)
    history = kc.get_shell_msg(timeout=TIMEOUT)["content"]["history"]
    assert [h[2] for h in history] == [["6*7", "42"], ["6*7", "42"]]
    kc.history(hist_access_type="search", pattern="6*", unique=True, raw=True, output=False)
    assert [h[2] for h in kc.get_shell_msg(timeout=TIMEOUT)["content"]["history"]] == ["6*7"]


def test_shutdown_is_prompt():
    km = KernelManager(kernel_name=KERNEL_NAME)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    started = time.monotonic()
    kc.shutdown()
    reply = kc.get_control_msg(timeout=TIMEOUT)
    assert reply["msg_type"] == "shutdown_reply" and reply["content"]["status"] == "ok"
    while km.is_alive() and time.monotonic() - started < 5:
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    assert not km.is_alive()
    assert elapsed < 1.0, f"kernel took {elapsed:.2f}s to exit"
    assert km.provisioner.process.returncode == 0
    kc.stop_channels()
    km.cleanup_resources()


def test_shutdown_during_long_execution_is_prompt(kernel):
    km, kc = kernel
    kc.execute("sleep 30")
    time.sleep(0.3)
    started = time.monotonic()
    km.shutdown_kernel(now=False)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"shutdown took {elapsed:.2f}s"


def test_ipc_transport():
    km = KernelManager(kernel_name=KERNEL_NAME, transport="ipc")
    with tempfile.TemporaryDirectory() as directory:
        km.ip = os.path.join(directory, "tlsh-kernel")
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
            reply, messages = run(kc, SAMPLES["code_hello_world"])
            assert reply["content"]["status"] == "ok"
            assert any(m["msg_type"] == "stream" for m in messages)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def test_unsigned_session_with_empty_key():
    """A connection file with key "" means no signatures; the kernel sends empty signature frames."""
    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    with tempfile.TemporaryDirectory() as directory:
        connection_file = os.path.join(directory, "kernel.json")
        ports = []
        for _ in range(5):
            s = zmq.Context.instance().socket(zmq.REP)
            ports.append(s.bind_to_random_port("tcp://127.0.0.1"))
            s.close(linger=0)
        info = dict(zip(["shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"], ports),
                    ip="127.0.0.1", transport="tcp", key="", signature_scheme="hmac-sha256", kernel_name="")
        with open(connection_file, "w") as f:
            json.dump(info, f)
        argv = [a.replace("{connection_file}", connection_file) for a in spec.argv]
        process = subprocess.Popen(argv, stderr=subprocess.PIPE)
        try:
            kc = BlockingKernelClient(connection_file=connection_file)
            kc.load_connection_file()
            kc.session = Session(key=b"")
            kc.start_channels()
            kc.wait_for_ready(timeout=30)
            reply, _ = run(kc, "1+2")
            assert reply["content"]["status"] == "ok"
            kc.shutdown()
            kc.get_control_msg(timeout=TIMEOUT)
            assert process.wait(timeout=5) == 0
            kc.stop_channels()
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


def test_notebook_runs_with_nbclient():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in
                [SAMPLES["code_hello_world"], "1+2", "picture", SAMPLES["code_generate_error"]]]
    NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=30, allow_errors=True).execute()
    assert nb.cells[0].outputs[0]["text"] == "hello, world\n"
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == "3"
    assert "image/png" in nb.cells[2].outputs[0]["data"]
    assert nb.cells[3].outputs[0]["output_type"] == "error"


def test_load_thousands_of_mixed_requests_in_order(kernel):
    """Pipelines a few thousand requests on one DEALER and checks each reply: order, signature, content."""
    km, kc = kernel
    raw = RawChannel(km, "shell_port")
    requests = []
    kinds = [
        ("execute_request", {"code": "1+2", "silent": False, "store_history": False, "stop_on_error": False,
                             "user_expressions": {}, "allow_stdin": False}),
        ("kernel_info_request", {}),
        ("complete_request", {"code": "pr", "cursor_pos": 2}),
        ("is_complete_request", {"code": "x = [1,"}),
        ("inspect_request", {"code": "print", "cursor_pos": 1, "detail_level": 0}),
        ("history_request", {"hist_access_type": "tail", "n": 1, "output": False, "raw": True}),
    ]
    count = int(os.environ.get("TLSH_KERNEL_LOAD_REQUESTS", "3000"))
    started = time.monotonic()
    for i in range(count):
        msg_type, content = kinds[i % len(kinds)]
        requests.append((raw.send(msg_type, content)["header"]["msg_id"], msg_type))
    for expected_id, msg_type in requests:
        reply = raw.recv(timeout=TIMEOUT)  # Session.deserialize verifies the signature
        assert reply is not None, "a reply is missing"
        assert reply["parent_header"]["msg_id"] == expected_id, "replies out of order"
        assert reply["msg_type"] == msg_type.replace("_request", "_reply")
        content = reply["content"]
        if msg_type == "execute_request":
            assert content["status"] == "ok"
        elif msg_type == "complete_request":
            assert set(content["matches"]) == {"print", "progress"}
        elif msg_type == "is_complete_request":
            assert content["status"] == "incomplete"
    elapsed = time.monotonic() - started
    raw.close()
    print(f"\n{count} requests in {elapsed:.2f}s ({count / elapsed:.0f}/s)")
    assert km.is_alive()
