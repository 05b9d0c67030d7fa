"""Runs moto_server with one fix for its signature check: moto rebuilds the request URL from
werkzeug's re-quoted form, so keys with '+', '=' or '&' and list queries with prefix/delimiter
fail SigV4 verification even for boto3. Here the check sees the request target exactly as the
client sent and signed it (RAW_URI), which is what AWS verifies. Everything else is moto's."""
import sys

from moto.core import authorization
from moto.server import main

_original = authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action


def _with_raw_uri(self, iam_request_cls, resource="*"):
    from flask import request

    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    saved = self.uri
    if raw:
        self.uri = request.host_url.rstrip("/") + raw
    try:
        return _original(self, iam_request_cls, resource)
    finally:
        self.uri = saved


authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action = _with_raw_uri

if __name__ == "__main__":
    main(sys.argv[1:])
