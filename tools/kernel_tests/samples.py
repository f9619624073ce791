"""Sample code for the kernel tests, per language. The echo test language and the real tlsh language share
the verbs used here (print, warn, error, ...), so most samples carry over; set TLSH_KERNEL_SAMPLES=tlsh and
edit the "tlsh" entry where the real language differs."""
import os

ECHO = {
    "language_name": "tlsh",
    "file_extension": ".tl",
    "code_hello_world": 'print "hello, world"',
    "code_stderr": 'warn "something odd"',
    "completion_samples": [{"text": "pr", "matches": {"print", "progress"}}],
    "complete_code_samples": ['print "a"', "1+2", "picture", ""],
    "incomplete_code_samples": ["x = [1,", 'print "a" \\'],
    "invalid_code_samples": ["]", 'print "unterminated'],
    "code_page_something": "help",
    "code_generate_error": 'error "boom"',
    "code_execute_result": [
        {"code": "1+2", "result": "3"},
        {"code": "6*7", "result": "42"},
        {"code": "10/4", "result": "2.5"},
    ],
    "code_display_data": [
        {"code": "picture", "mime": "image/png"},
        {"code": "picture", "mime": "image/svg+xml"},
        {"code": "table", "mime": "text/html"},
        {"code": "table", "mime": "text/markdown"},
    ],
    # fnmatch glob that matches exactly one of the code_execute_result codes.
    "code_history_pattern": "6?7",
    "supported_history_operations": ("tail", "range", "search"),
    "code_inspect_sample": "print",
    "code_clear_output": "clear",
    # Used by test_protocol.py.
    "code_long_running": "sleep 5",
    "code_bind": "answer = 40+2",
    "code_read_binding": "answer",
    "binding_value": "42",
    "code_progress": "progress",
    "code_stream_then_wait": 'print "early"\nsleep 1\nprint "late"',
}

# The real language. `show` emits display_data (like IPython's display()); the embedded default model
# loads on first use, so pictures need no network.
TLSH = dict(ECHO)
TLSH.update({
    "completion_samples": [{"text": "pat", "matches": {"patch"}}, {"text": "x = me", "matches": {"mean"}}],
    "complete_code_samples": ['print "a"', "1+2", "", "x = 3"],
    "incomplete_code_samples": ["x = [1,", 'print "a" \\', "x = (1 +"],
    "invalid_code_samples": ["]", "x = )"],
    "code_page_something": "",
    "code_generate_error": "undefined_variable + 1",
    "code_display_data": [
        {"code": 'c = run "Hello world"\nshow c.pattern[0]', "mime": "image/png"},
        {"code": 'c = run "Hello world"\nshow c.pattern[0]', "mime": "image/svg+xml"},
    ],
    "code_inspect_sample": "patch",
    "code_clear_output": "clear",  # `clear` alone clears the cell's output (clear_output)
})

SAMPLES = {"echo": ECHO, "tlsh": TLSH}[os.environ.get("TLSH_KERNEL_SAMPLES", "echo")]
KERNEL_NAME = os.environ.get("TLSH_KERNEL_NAME", "tlsh-echo")
# A second spec for the same binary with interrupt_mode "message" (run.sh installs both).
KERNEL_NAME_MESSAGE = os.environ.get("TLSH_KERNEL_NAME_MESSAGE", KERNEL_NAME + "-message")
