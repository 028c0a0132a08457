"""Tests of slipway_worker.py: each starts the worker as a subprocess against a small
model script written into a temporary code folder, and speaks its framed protocol.

Run: python3 -m unittest discover -s Tests/ServingTests/Python -v
"""
import io
import json
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

try:
    import numpy
except ImportError:
    numpy = None

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.environ.get("SLIPWAY_WORKER") or os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "Sources", "Serving", "Python", "slipway_worker.py"))
TIMEOUT = 20.0

SUMMER = """
import os

class Summer:
    def __init__(self, scale):
        self.scale = scale

    def predict(self, data):
        if hasattr(data, "sum"):
            return data.sum(axis=-1) * self.scale
        return [sum(row) * self.scale for row in data]

def model_fn(model_dir):
    with open(os.path.join(model_dir, "scale.txt")) as f:
        return Summer(int(f.read()))
"""

CUSTOM = """
import json

def model_fn(model_dir):
    return {"bias": 100}

def input_fn(input_data, content_type):
    assert isinstance(input_data, bytes), type(input_data)
    if content_type != "text/plain":
        raise ValueError("send text/plain, not " + content_type)
    return [int(word) for word in input_data.decode().split()]

def predict_fn(data, model):
    if any(x < 0 for x in data):
        raise ValueError("negative value in row")
    return [x + model["bias"] for x in data]

def output_fn(prediction, accept):
    if accept == "application/vnd.words":
        return " ".join(map(str, prediction)), "application/vnd.words"
    return json.dumps({"values": prediction, "accept": accept})
"""

TRANSFORM = """
def model_fn(model_dir):
    return "hello"

def input_fn(input_data, content_type):
    raise AssertionError("input_fn must not be called when transform_fn exists")

def transform_fn(model, input_data, content_type, accept):
    text = model + " " + input_data.decode() + " " + content_type
    if accept == "text/plain":
        return text.upper(), "text/plain"
    return text.encode()
"""

NOISY = """
import os, subprocess, sys
print("printed at import")

class Model:
    def predict(self, data):
        print("printed in predict")
        assert sys.stdin.read() == "" and os.read(0, 10) == b"", "user code must not see the protocol's stdin"
        sys.stdout.write("\\x00\\x00\\x00\\x05{junk")
        sys.stdout.flush()
        os.write(1, b"written to fd 1\\n")
        subprocess.run(["echo", "child process output"], check=True)
        return [len(data)]

def model_fn(model_dir):
    print("printed in model_fn")
    return Model()
"""


class WorkerProcess:
    """A running worker: send(header, body) and receive() -> (header, body)."""

    def __init__(self, script, env=None, program="serve.py", model_files=None, code_files=None):
        self.root = tempfile.mkdtemp(prefix="slipway-worker-test-")
        self.code = os.path.join(self.root, "code")
        self.model = os.path.join(self.root, "model")
        os.makedirs(self.code)
        os.makedirs(self.model)
        if script is not None:
            with open(os.path.join(self.code, program), "w") as f:
                f.write(textwrap.dedent(script))
        for folder, files in ((self.model, model_files), (self.code, code_files)):
            for name, text in (files or {}).items():
                with open(os.path.join(folder, name), "w") as f:
                    f.write(text)
        environment = dict(os.environ, SAGEMAKER_PROGRAM=program, SLIPWAY_CODE_DIR=self.code,
                           SM_MODEL_DIR=self.model)
        environment.pop("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", None)
        environment.update(env or {})
        self.stderr = tempfile.TemporaryFile(dir=self.root)
        self.process = subprocess.Popen([sys.executable, WORKER], cwd=self.code, env=environment,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self.buffer = b""

    def send(self, header, body=b""):
        header = dict(header, length=len(body)) if body else header
        encoded = json.dumps(header).encode()
        self.send_raw(struct.pack(">I", len(encoded)) + encoded + body)

    def send_raw(self, data):
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def read_exact(self, n):
        deadline = time.monotonic() + TIMEOUT
        fd = self.process.stdout.fileno()
        while len(self.buffer) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise AssertionError(f"worker sent nothing for {TIMEOUT} s; stderr:\n{self.log()}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"worker closed stdout; stderr:\n{self.log()}")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def receive(self):
        (size,) = struct.unpack(">I", self.read_exact(4))
        header = json.loads(self.read_exact(size).decode("utf-8"))
        return header, self.read_exact(header.get("length", 0))

    def request(self, header, body=b""):
        self.send(header, body)
        return self.receive()

    def invoke(self, body, content_type=None, accept=None):
        header = {"op": "invoke"}
        if content_type is not None:
            header["content_type"] = content_type
        if accept is not None:
            header["accept"] = accept
        return self.request(header, body)

    def wait(self):
        return self.process.wait(timeout=TIMEOUT)

    def remaining_stdout(self):
        return self.buffer + self.process.stdout.read()

    def log(self):
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.stderr):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


class WorkerTestCase(unittest.TestCase):
    def start(self, script, expect_ready=True, **options):
        worker = WorkerProcess(script, **options)
        self.addCleanup(worker.close)
        if expect_ready:
            header, body = worker.receive()
            self.assertEqual(header, {"ready": True, "pid": worker.process.pid, "length": 0}, worker.log())
            self.assertEqual(body, b"")
        return worker

    def start_summer(self, **options):
        return self.start(SUMMER, model_files={"scale.txt": "2"}, **options)

    def assert_ok(self, response, content_type):
        header, body = response
        self.assertEqual(header.get("status"), 200, header)
        self.assertEqual(header["content_type"], content_type)
        self.assertEqual(header["length"], len(body))
        return body


class HandshakeTests(WorkerTestCase):
    def test_ready_then_ping(self):
        worker = self.start_summer()
        self.assertEqual(worker.request({"op": "ping"}), ({"status": 200, "length": 0}, b""))

    def test_request_id_is_echoed(self):
        worker = self.start_summer()
        header, _ = worker.request({"op": "ping", "id": 41})
        self.assertEqual(header["id"], 41)

    def test_unknown_op(self):
        worker = self.start_summer()
        header, body = worker.request({"op": "explode"}, b"ignored body")
        self.assertEqual(header["status"], 400)
        self.assertIn("unknown op 'explode'", header["error"])
        self.assertEqual(worker.request({"op": "ping"})[0]["status"], 200)

    def test_eof_exits_zero(self):
        worker = self.start_summer()
        worker.process.stdin.close()
        self.assertEqual(worker.wait(), 0)
        self.assertEqual(worker.remaining_stdout(), b"")

    def test_malformed_frame_exits_two(self):
        worker = self.start_summer()
        worker.send_raw(struct.pack(">I", 8) + b"not json")
        self.assertEqual(worker.wait(), 2)
        self.assertIn("malformed frame", worker.log())

    def test_truncated_body_exits_two(self):
        worker = self.start_summer()
        header = json.dumps({"op": "invoke", "length": 100}).encode()
        worker.send_raw(struct.pack(">I", len(header)) + header + b"[1, 2]")
        worker.process.stdin.close()
        self.assertEqual(worker.wait(), 2)


class StartupFailureTests(WorkerTestCase):
    def assert_not_ready(self, worker, *fragments):
        header, body = worker.receive()
        self.assertIs(header["ready"], False, header)
        for fragment in fragments:
            self.assertIn(fragment, header["error"])
        self.assertIn("traceback", header)
        self.assertEqual(worker.wait(), 1)
        return header

    def test_model_fn_raises(self):
        worker = self.start("def model_fn(model_dir):\n    raise RuntimeError('no weights in ' + model_dir)\n",
                            expect_ready=False)
        header = self.assert_not_ready(worker, "RuntimeError: no weights in " + worker.model)
        self.assertIn("model_fn", header["traceback"])

    def test_missing_model_fn(self):
        worker = self.start("def predict_fn(data, model):\n    return data\n", expect_ready=False)
        self.assert_not_ready(worker, "serve.py", "define model_fn(model_dir)")

    def test_import_error(self):
        worker = self.start("import no_such_module_for_slipway\n", expect_ready=False)
        self.assert_not_ready(worker, "ModuleNotFoundError", "no_such_module_for_slipway")

    def test_missing_script(self):
        worker = self.start(None, expect_ready=False)
        self.assert_not_ready(worker, "serve.py")


class DefaultHandlerTests(WorkerTestCase):
    def test_json_in_json_out(self):
        worker = self.start_summer()
        body = self.assert_ok(worker.invoke(b"[[1, 2], [3, 4]]", "application/json", "application/json"),
                              "application/json")
        self.assertEqual(json.loads(body), [6, 14])

    def test_json_dict_stays_a_dict(self):
        script = "def model_fn(d):\n    return lambda data: {'type': type(data).__name__, 'keys': sorted(data)}\n"
        worker = self.start(script)
        body = self.assert_ok(worker.invoke(b'{"b": 1, "a": 2}', "application/json"), "application/json")
        self.assertEqual(json.loads(body), {"type": "dict", "keys": ["a", "b"]})

    def test_content_type_parameters_are_ignored(self):
        worker = self.start_summer()
        body = self.assert_ok(worker.invoke(b"[[1, 1]]", "application/json; charset=utf-8"), "application/json")
        self.assertEqual(json.loads(body), [4])

    def test_missing_or_wildcard_accept_uses_json(self):
        worker = self.start_summer()
        for accept in (None, "", "*/*"):
            body = self.assert_ok(worker.invoke(b"[[1, 2]]", "application/json", accept), "application/json")
            self.assertEqual(json.loads(body), [6])

    def test_default_accept_from_environment(self):
        worker = self.start_summer(env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"})
        body = self.assert_ok(worker.invoke(b"[[1, 2], [3, 4]]", "application/json"), "text/csv")
        self.assertEqual(body, b"6\n14\n")

    def test_csv_in_csv_out(self):
        worker = self.start_summer()
        body = self.assert_ok(worker.invoke(b"1,2\n3,4.5\n", "text/csv", "text/csv"), "text/csv")
        self.assertEqual(body, b"6.0\n15.0\n")

    def test_single_csv_row_stays_two_dimensional(self):
        worker = self.start_summer()
        body = self.assert_ok(worker.invoke(b"1,2,3", "text/csv", "application/json"), "application/json")
        self.assertEqual(json.loads(body), [12.0])

    def test_two_dimensional_csv_output(self):
        worker = self.start("def model_fn(d):\n    return lambda data: data\n")
        body = self.assert_ok(worker.invoke(b"[[1, 2], [3, 4]]", "application/json", "text/csv"), "text/csv")
        self.assertEqual(body, b"1,2\n3,4\n")

    @unittest.skipUnless(numpy, "numpy is not installed")
    def test_npy_in_npy_out(self):
        worker = self.start_summer()
        buffer = io.BytesIO()
        numpy.save(buffer, numpy.array([[1.5, 2.0], [3.0, 4.0]]))
        body = self.assert_ok(worker.invoke(buffer.getvalue(), "application/x-npy", "application/x-npy"),
                              "application/x-npy")
        result = numpy.load(io.BytesIO(body), allow_pickle=False)
        self.assertEqual(result.tolist(), [7.0, 14.0])

    def test_unsupported_content_type_is_415(self):
        worker = self.start_summer()
        header, body = worker.invoke(b"hello", "text/plain")
        self.assertEqual((header["status"], header["length"], body), (415, 0, b""))
        self.assertIn("text/plain", header["error"])

    def test_unsupported_accept_is_406(self):
        worker = self.start_summer()
        header, _ = worker.invoke(b"[[1]]", "application/json", "text/html")
        self.assertEqual(header["status"], 406)
        self.assertIn("text/html", header["error"])

    def test_malformed_json_is_400(self):
        worker = self.start_summer()
        header, _ = worker.invoke(b"[[1, 2", "application/json")
        self.assertEqual(header["status"], 400)
        self.assertIn("application/json", header["error"])
        self.assertNotIn("traceback", header)
        self.assertEqual(worker.request({"op": "ping"})[0]["status"], 200)

    def test_malformed_csv_is_400(self):
        worker = self.start_summer()
        header, _ = worker.invoke(b"1,2\n3,x\n", "text/csv")
        self.assertEqual(header["status"], 400)
        self.assertIn("text/csv", header["error"])
        self.assertIn("'x'", header["error"])

    def test_model_without_predict_is_500(self):
        worker = self.start("def model_fn(d):\n    return 42\n")
        header, _ = worker.invoke(b"[1]", "application/json")
        self.assertEqual(header["status"], 500)
        self.assertIn("define predict_fn", header["error"])


class NoNumpyTests(WorkerTestCase):
    """The worker with numpy hidden: JSON and CSV still work, on plain lists."""

    def start_without_numpy(self):
        blocker = tempfile.mkdtemp(prefix="slipway-no-numpy-")
        self.addCleanup(shutil.rmtree, blocker, True)
        with open(os.path.join(blocker, "numpy.py"), "w") as f:
            f.write("raise ImportError('numpy hidden by the test')\n")
        return self.start_summer(env={"PYTHONPATH": blocker})

    def test_json_and_csv_on_lists(self):
        worker = self.start_without_numpy()
        body = self.assert_ok(worker.invoke(b"[[1, 2], [3, 4]]", "application/json"), "application/json")
        self.assertEqual(json.loads(body), [6, 14])
        body = self.assert_ok(worker.invoke(b"1,2\n", "text/csv", "text/csv"), "text/csv")
        self.assertEqual(body, b"6.0\n")

    def test_npy_is_unsupported(self):
        worker = self.start_without_numpy()
        self.assertEqual(worker.invoke(b"\x93NUMPY", "application/x-npy")[0]["status"], 415)
        self.assertEqual(worker.invoke(b"[[1]]", "application/json", "application/x-npy")[0]["status"], 406)


class CustomHandlerTests(WorkerTestCase):
    def test_custom_handlers(self):
        worker = self.start(CUSTOM)
        body = self.assert_ok(worker.invoke(b"1 2 3", "text/plain", "application/json"), "application/json")
        self.assertEqual(json.loads(body), {"values": [101, 102, 103], "accept": "application/json"})

    def test_output_fn_tuple_sets_content_type(self):
        worker = self.start(CUSTOM)
        body = self.assert_ok(worker.invoke(b"1 2", "text/plain", "application/vnd.words"), "application/vnd.words")
        self.assertEqual(body, b"101 102")

    def test_handler_exception_is_500_and_worker_keeps_serving(self):
        worker = self.start(CUSTOM)
        header, body = worker.invoke(b"1 -2", "text/plain")
        self.assertEqual((header["status"], header["length"], body), (500, 0, b""))
        self.assertEqual(header["error"], "ValueError: negative value in row")
        self.assertIn("predict_fn", header["traceback"])
        self.assertIn("negative value in row", worker.log())
        body = self.assert_ok(worker.invoke(b"5", "text/plain"), "application/json")
        self.assertEqual(json.loads(body)["values"], [105])

    def test_input_fn_rejecting_the_request_is_400(self):
        worker = self.start(CUSTOM)
        header, _ = worker.invoke(b"1", "application/json")
        self.assertEqual(header["status"], 400)
        self.assertEqual(header["error"], "ValueError: send text/plain, not application/json")

    def test_transform_fn_with_content_type(self):
        worker = self.start(TRANSFORM)
        body = self.assert_ok(worker.invoke(b"world", "text/csv", "text/plain"), "text/plain")
        self.assertEqual(body, b"HELLO WORLD TEXT/CSV")

    def test_transform_fn_bytes_use_accept(self):
        worker = self.start(TRANSFORM)
        body = self.assert_ok(worker.invoke(b"world", "text/csv"), "application/json")
        self.assertEqual(body, b"hello world text/csv")

    def test_script_imports_its_neighbours(self):
        script = "import helper_lib\n\ndef model_fn(d):\n    return helper_lib.double\n"
        worker = self.start(script, code_files={"helper_lib.py": "def double(rows):\n    return [2 * x for x in rows]\n"})
        body = self.assert_ok(worker.invoke(b"[1, 2]", "application/json"), "application/json")
        self.assertEqual(json.loads(body), [2, 4])


class OutputIsolationTests(WorkerTestCase):
    def test_user_output_does_not_corrupt_protocol(self):
        worker = self.start(NOISY)
        for _ in range(2):
            body = self.assert_ok(worker.invoke(b"[1, 2, 3]", "application/json"), "application/json")
            self.assertEqual(json.loads(body), [3])
        self.assertEqual(worker.request({"op": "ping"})[0]["status"], 200)
        worker.process.stdin.close()
        self.assertEqual(worker.wait(), 0)
        self.assertEqual(worker.remaining_stdout(), b"")
        log = worker.log()
        for text in ("printed at import", "printed in model_fn", "printed in predict",
                     "written to fd 1", "child process output", "{junk"):
            self.assertIn(text, log)


if __name__ == "__main__":
    unittest.main()
