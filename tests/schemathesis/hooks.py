"""schemathesis hooks for karen: how to generate the bodies it cannot generate from a schema.

POST /v1/inbound/email takes a raw e-mail (message/rfc822). schemathesis has no generator for
that media type, so this registers one: messages built from random headers and bodies (well
formed, so karen stores them), and random bytes (so karen refuses them). Either way karen must
answer 2xx or 4xx, never 5xx.
"""

from hypothesis import strategies as st

import schemathesis

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
_word = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="<>@:;,\\\"()[]"), min_size=1, max_size=20)


def _mail(local, domain, subject, body, mid, reply):
    headers = [
        f"From: {local}@{domain}.example",
        "To: office@757handy.com",
        "Subject: " + subject.replace("\r", " ").replace("\n", " "),
        f"Message-ID: <{mid}@{domain}.example>",
    ]
    if reply:
        headers.append(f"In-Reply-To: <{reply}@757handy.com>")
    return ("\r\n".join(headers) + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode("utf-8", "replace")


_emails = st.builds(_mail, _word, _word, _text, _text, _word, st.one_of(st.none(), _word))

schemathesis.openapi.media_type("message/rfc822", st.one_of(_emails, st.binary(max_size=4096)))


@schemathesis.hook
def map_query(ctx, query):
    """GET /v1/events waits up to `wait` seconds (0 to 30) for an event that may never come:
    a second is enough to exercise the wait, and keeps the run's time for the other routes."""
    if query and isinstance(query.get("wait"), int) and query["wait"] > 1:
        query["wait"] = 1
    return query
