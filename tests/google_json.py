"""Google's JSON answers read with Google's own classes: proto3 JSON parsed with unknown
fields refused, and the error envelope of Google's JSON HTTP APIs."""

from __future__ import annotations

import json

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.rpc import code_pb2, status_pb2


def _error_envelope_class():
    """The error schema of Google's JSON HTTP APIs, as the API design guide ("Errors", HTTP
    mapping) publishes it: google.rpc.Status with the HTTP code, plus the Code's name."""
    file = descriptor_pb2.FileDescriptorProto(
        name="labelexport_tests/http_error.proto", package="labelexport_tests", syntax="proto3",
        dependency=["google/rpc/code.proto", "google/protobuf/any.proto"])
    error = file.message_type.add(name="Error")
    error.nested_type.add(name="ErrorProto")
    status = error.nested_type.add(name="Status")
    optional, repeated = (descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
                          descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED)
    kinds = descriptor_pb2.FieldDescriptorProto
    for name, number, label, kind, type_name in (
            ("code", 1, optional, kinds.TYPE_INT32, None),
            ("message", 2, optional, kinds.TYPE_STRING, None),
            ("errors", 3, repeated, kinds.TYPE_MESSAGE, ".labelexport_tests.Error.ErrorProto"),
            ("status", 4, optional, kinds.TYPE_ENUM, ".google.rpc.Code"),
            ("details", 5, repeated, kinds.TYPE_MESSAGE, ".google.protobuf.Any")):
        field = status.field.add(name=name, number=number, label=label, type=kind)
        if type_name:
            field.type_name = type_name
    error.field.add(name="error", number=1, label=optional, type=kinds.TYPE_MESSAGE,
                    type_name=".labelexport_tests.Error.Status")
    pool = descriptor_pool.Default()  # holds google/rpc/code.proto and any.proto: imported
    try:
        descriptor = pool.FindMessageTypeByName("labelexport_tests.Error")
    except KeyError:
        pool.AddSerializedFile(file.SerializeToString())
        descriptor = pool.FindMessageTypeByName("labelexport_tests.Error")
    return message_factory.GetMessageClass(descriptor)


ErrorEnvelope = _error_envelope_class()


def parse(text: str | bytes, message_class):
    message = message_class()
    json_format.Parse(text, message, ignore_unknown_fields=False)
    return message


def parse_error_answer(answer) -> status_pb2.Status:
    """The error body: Google's envelope, whose content is a google.rpc.Status (with the HTTP
    code) and the name of the google.rpc.Code that code stands for."""
    envelope = parse(answer.data, ErrorEnvelope)
    assert envelope.error.code == answer.status_code
    assert envelope.error.status != code_pb2.OK
    content = json.loads(answer.data)["error"]
    status = {k: v for k, v in content.items() if k != "status"}
    return parse(json.dumps(status), status_pb2.Status)


def assert_error_envelope(api, method: str, path: str, body: object, code: int) -> None:
    """Call a stand-in through its Flask test client (`body`: JSON, or text sent as it is) and
    check that it answers `code` with Google's error envelope carrying the same code."""
    if isinstance(body, str):
        answer = api.open(path, method=method, data=body)
    else:
        answer = api.open(path, method=method, json=body)
    assert answer.status_code == code
    status = parse_error_answer(answer)
    assert status.code == code and status.message
