"""Slipway model-serving worker: one model, one request at a time, over stdin/stdout.

The user script ($SAGEMAKER_PROGRAM in the code folder) follows the SageMaker inference
toolkit's conventions: model_fn(model_dir) is required; input_fn(input_data, content_type),
predict_fn(data, model) and output_fn(prediction, accept) are optional, and
transform_fn(model, input_data, content_type, accept) replaces all three when defined.

Environment: SAGEMAKER_PROGRAM (script file name), SLIPWAY_CODE_DIR (code folder, default
/opt/ml/code), SM_MODEL_DIR (default /opt/ml/model), SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT
(default application/json).

Protocol, both directions: a frame is a 4-byte big-endian length N, N bytes of a UTF-8
JSON object (the header), then header.get("length", 0) bytes of body. Every frame the
worker writes carries an explicit "length".

  first:   {"ready": true, "pid": P}, or {"ready": false, "error": "Type: message",
           "traceback": "..."} and exit 1
  {"op": "ping"}  ->  {"status": 200}
  {"op": "invoke", "content_type": T, "accept": A, "length": n} + n bytes
           ->  {"status": 200, "content_type": T2, "length": m} + m bytes
           or  {"status": 4xx/5xx, "error": "..."} (+ "traceback" for 5xx)
  other op ->  {"status": 400, "error": "unknown op ..."}

A request's "id", if present, is echoed in its response. EOF on stdin exits 0; a malformed
frame is reported on stderr and exits 2. The user's prints (fd 1) go to stderr, and the
user's stdin is /dev/null, so user code can never corrupt the protocol.
"""
import csv
import importlib.machinery
import importlib.util
import io
import json
import logging
import os
import struct
import sys
import traceback

try:
    import numpy
except ImportError:
    numpy = None

LOG = logging.getLogger("slipway.worker")
MAX_HEADER = 1 << 20
JSON, CSV, NPY = "application/json", "text/csv", "application/x-npy"


class HandlerError(Exception):
    """An error with an HTTP-like status, raised by the default handlers."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class MalformedFrame(Exception):
    """The input stream broke the framing; the worker cannot resynchronise."""


# --- framing -------------------------------------------------------------------------

def read_exact(stream, n):
    data = stream.read(n) if n else b""
    if len(data) != n:
        raise MalformedFrame(f"stream ended after {len(data)} of {n} bytes")
    return data


def read_frame(stream):
    """Returns (header, body), or None on a clean EOF before a frame."""
    prefix = stream.read(4)
    if not prefix:
        return None
    if len(prefix) < 4:
        raise MalformedFrame("stream ended inside a frame's length prefix")
    (size,) = struct.unpack(">I", prefix)
    if size > MAX_HEADER:
        raise MalformedFrame(f"header length {size} exceeds {MAX_HEADER}")
    try:
        header = json.loads(read_exact(stream, size).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedFrame(f"header is not UTF-8 JSON: {error}") from None
    if not isinstance(header, dict):
        raise MalformedFrame("header is not a JSON object")
    length = header.get("length", 0)
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise MalformedFrame(f"invalid body length {length!r}")
    return header, read_exact(stream, length)


def write_frame(stream, header, body=b""):
    header = dict(header, length=len(body))
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    stream.write(struct.pack(">I", len(encoded)) + encoded + body)
    stream.flush()


# --- default handlers ----------------------------------------------------------------

def media_type(value):
    return (value or "").split(";", 1)[0].strip().lower()


def default_input_fn(input_data, content_type):
    kind = media_type(content_type) or JSON
    parser = {JSON: parse_json, CSV: parse_csv, NPY: parse_npy}.get(kind)
    if parser is None:
        raise HandlerError(415, f"unsupported content type {content_type!r}; "
                                f"use {JSON}, {CSV} or {NPY}, or define input_fn")
    try:
        return parser(input_data)
    except (ValueError, EOFError, OSError) as error:
        raise HandlerError(400, f"could not parse the {kind} body: {error}") from None


def parse_json(body):
    data = json.loads(body.decode("utf-8"))
    if numpy is None or not isinstance(data, (list, int, float)):
        return data
    try:
        array = numpy.array(data)
    except ValueError:  # ragged lists
        return data
    return data if array.dtype == object else array


def parse_npy(body):
    if numpy is None:
        raise HandlerError(415, f"content type {NPY} needs numpy, which is not installed")
    return numpy.load(io.BytesIO(body), allow_pickle=False)


def parse_csv(body):
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(body.decode("utf-8-sig"))), 1):
        if not row:
            continue
        if rows and len(row) != len(rows[0]):
            raise ValueError(f"row {number} has {len(row)} values, expected {len(rows[0])}")
        try:
            rows.append([float(cell) for cell in row])
        except ValueError as error:
            raise ValueError(f"row {number}: {error}") from None
    if not rows:
        raise ValueError("no rows")
    return numpy.array(rows, dtype=float) if numpy is not None else rows


def default_predict_fn(data, model):
    if hasattr(model, "predict"):
        return model.predict(data)
    if callable(model):
        return model(data)
    raise HandlerError(500, f"the model ({type(model).__name__}) has no predict() and is not "
                            "callable; define predict_fn(data, model) in the script")


def default_output_fn(prediction, accept):
    kind = media_type(accept)
    if kind == NPY and numpy is None:
        raise HandlerError(406, f"accept type {NPY} needs numpy, which is not installed")
    if kind == JSON:
        return json.dumps(prediction, default=to_json), JSON
    if kind == CSV:
        return to_csv(prediction), CSV
    if kind == NPY:
        buffer = io.BytesIO()
        numpy.save(buffer, numpy.asarray(prediction), allow_pickle=False)
        return buffer.getvalue(), NPY
    raise HandlerError(406, f"unsupported accept type {accept!r}; "
                            f"use {JSON}, {CSV} or {NPY}, or define output_fn")


def to_json(value):
    if hasattr(value, "tolist"):  # numpy arrays and scalars (.tolist() of a scalar is .item())
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def to_csv(prediction):
    rows = prediction.tolist() if hasattr(prediction, "tolist") else prediction
    if isinstance(rows, dict):
        raise TypeError("text/csv output needs a scalar, list or array, not a dict; define output_fn")
    if not isinstance(rows, (list, tuple)):
        rows = [rows]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(list(row) if isinstance(row, (list, tuple)) else [row])
    return buffer.getvalue()


# --- the model -----------------------------------------------------------------------

def resolve_accept(accept, default):
    """The first type of an Accept value; missing, empty or */* means the default."""
    first = (accept or "").split(",", 1)[0].strip()
    return default if media_type(first) in ("", "*/*") else first


def as_bytes(body, handler):
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"{handler} must return bytes or str (or a (body, content_type) tuple), "
                    f"got {type(body).__name__}")


# Exceptions an input_fn raises when the request is wrong (bad JSON, a content type it does
# not take, a missing field): the client's error (400), which never counts toward rolling
# back a new version, unlike a model's failure (500).
CLIENT_ERRORS = (ValueError, TypeError, KeyError, IndexError, UnicodeError)


def read_input(input_fn, body, content_type):
    try:
        return input_fn(body, content_type)
    except HandlerError:
        raise
    except CLIENT_ERRORS as error:
        name, message = type(error).__name__, str(error)
        raise HandlerError(400, f"{name}: {message}" if message else name) from None


class Worker:
    def __init__(self, module, model_dir, default_accept):
        self.script = os.path.basename(getattr(module, "__file__", "") or "the script")
        model_fn = getattr(module, "model_fn", None)
        if not callable(model_fn):
            raise AttributeError(f"{self.script} has no model_fn; define model_fn(model_dir)")
        self.transform_fn = getattr(module, "transform_fn", None)
        self.input_fn = getattr(module, "input_fn", default_input_fn)
        self.predict_fn = getattr(module, "predict_fn", default_predict_fn)
        self.output_fn = getattr(module, "output_fn", default_output_fn)
        self.default_accept = default_accept
        self.model = model_fn(model_dir)

    def invoke(self, body, content_type, accept):
        """Returns (response body, content type); raises on failure."""
        content_type = content_type or JSON
        accept = resolve_accept(accept, self.default_accept)
        if self.transform_fn is not None:
            result = self.transform_fn(self.model, body, content_type, accept)
            handler = "transform_fn"
        else:
            data = read_input(self.input_fn, body, content_type)
            prediction = self.predict_fn(data, self.model)
            result = self.output_fn(prediction, accept)
            handler = "output_fn"
        if isinstance(result, tuple) and len(result) == 2:
            result, accept = result
        return as_bytes(result, handler), accept


def error_fields(error):
    """The response fields for an exception being handled; 500s carry the traceback."""
    if isinstance(error, HandlerError):
        fields = {"status": error.status, "error": str(error)}
    else:
        name, message = type(error).__name__, str(error)
        fields = {"status": 500, "error": f"{name}: {message}" if message else name}
    if fields["status"] >= 500:
        fields["traceback"] = traceback.format_exc()
    return fields


def handle(worker, header, body):
    op = header.get("op")
    if op == "ping":
        return {"status": 200}, b""
    if op != "invoke":
        return {"status": 400, "error": f"unknown op {op!r}; expected 'ping' or 'invoke'"}, b""
    try:
        payload, content_type = worker.invoke(body, header.get("content_type"), header.get("accept"))
    except Exception as error:  # user code may raise anything; report it and keep serving
        fields = error_fields(error)
        LOG.error("invoke failed (%s): %s\n%s", fields["status"], fields["error"],
                  fields.get("traceback", ""))
        return fields, b""
    return {"status": 200, "content_type": content_type}, payload


# --- startup and loop ----------------------------------------------------------------

def take_stdio():
    """Keeps the real stdin/stdout for the protocol; user code gets /dev/null and stderr."""
    protocol_in = os.fdopen(os.dup(0), "rb")
    protocol_out = os.fdopen(os.dup(1), "wb")
    sys.stdout.flush()
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = sys.stderr
    sys.stdin = open(os.devnull, "r")
    return protocol_in, protocol_out


def load_script(code_dir, program):
    if not program:
        raise ValueError("SAGEMAKER_PROGRAM is not set; set it to the script's file name")
    path = os.path.join(code_dir, program)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{program} not found in {code_dir}")
    name = os.path.splitext(os.path.basename(program))[0]
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def start(code_dir):
    os.chdir(code_dir)
    sys.path.insert(0, code_dir)
    module = load_script(code_dir, os.environ.get("SAGEMAKER_PROGRAM", ""))
    return Worker(module, os.environ.get("SM_MODEL_DIR", "/opt/ml/model"),
                  os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON)


def serve(worker, protocol_in, protocol_out):
    while True:
        try:
            frame = read_frame(protocol_in)
        except MalformedFrame as error:
            LOG.error("malformed frame: %s", error)
            return 2
        if frame is None:
            return 0
        header, body = frame
        response, payload = handle(worker, header, body)
        if "id" in header:
            response["id"] = header["id"]
        write_frame(protocol_out, response, payload)


def main():
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s slipway-worker[%(process)d] %(levelname)s %(message)s")
    protocol_in, protocol_out = take_stdio()
    code_dir = os.path.abspath(os.environ.get("SLIPWAY_CODE_DIR") or "/opt/ml/code")
    try:
        worker = start(code_dir)
    except Exception as error:
        fields = error_fields(error)
        LOG.error("startup failed: %s", fields["error"])
        write_frame(protocol_out, {"ready": False, "error": fields["error"],
                                   "traceback": fields.get("traceback", "")})
        return 1
    LOG.info("%s loaded from %s; ready", worker.script, code_dir)
    write_frame(protocol_out, {"ready": True, "pid": os.getpid()})
    try:
        return serve(worker, protocol_in, protocol_out)
    except BrokenPipeError:  # the Swift side went away
        return 0


if __name__ == "__main__":
    sys.exit(main())
