"""jupyter_kernel_test's conformance suite against the installed tlsh kernelspec."""
import unittest

import jupyter_kernel_test

from samples import KERNEL_NAME, SAMPLES


class TlshKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = KERNEL_NAME
    language_name = SAMPLES["language_name"]
    file_extension = SAMPLES["file_extension"]
    code_hello_world = SAMPLES["code_hello_world"]
    code_stderr = SAMPLES["code_stderr"]
    completion_samples = SAMPLES["completion_samples"]
    complete_code_samples = SAMPLES["complete_code_samples"]
    incomplete_code_samples = SAMPLES["incomplete_code_samples"]
    invalid_code_samples = SAMPLES["invalid_code_samples"]
    code_page_something = SAMPLES["code_page_something"]
    code_generate_error = SAMPLES["code_generate_error"]
    code_execute_result = SAMPLES["code_execute_result"]
    code_display_data = SAMPLES["code_display_data"]
    code_history_pattern = SAMPLES["code_history_pattern"]
    supported_history_operations = SAMPLES["supported_history_operations"]
    code_inspect_sample = SAMPLES["code_inspect_sample"]
    code_clear_output = SAMPLES["code_clear_output"]


class TlshIopubWelcomeTests(jupyter_kernel_test.IopubWelcomeTests):
    kernel_name = KERNEL_NAME
    support_iopub_welcome = True


if __name__ == "__main__":
    unittest.main()
