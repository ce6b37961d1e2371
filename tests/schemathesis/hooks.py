"""schemathesis hooks for karen: how to generate the bodies it cannot generate from a schema.

POST /v1/inbound/email takes a raw e-mail (message/rfc822). schemathesis has no generator for
that media type, so this registers one: messages built from random headers and bodies (well
formed, so karen stores them), and random bytes (so karen refuses them). Either way karen must
answer 2xx or 4xx, never 5xx.
"""

from hypothesis import strategies as st

import schemathesis

# No NUL: a message karen stores holds none (its content must not), and these are the ones
# meant to be stored; the random bytes below bring NULs.
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=200)
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


# A schema-valid request that karen refuses breaks a rule its document does not state, except
# for these: each depends on what is stored, on the world outside the request, or on two parts
# of a request at once, which no JSON Schema of one value can state (docs/decisions.md K57).
# (problem type, words of the rule, why no schema states it)
_UNSTATABLE = [
    ("missing-reference", "", "a referenced row must exist: what is stored"),
    ("invalid-input", "is not a cursor returned by this listing", "only karen's own cursors, of this listing, continue it"),
    ("invalid-input", "is not a cursor returned by the event feed", "only karen's own cursors continue the feed"),
    ("invalid-input", "names a message of another customer", "whose message it is: what is stored"),
    ("invalid-input", "must be a message of the same customer", "whose message it is: what is stored"),
    ("invalid-input", "a customer cannot be merged into itself", "the body's id against the path's"),
    ("invalid-input", "names a loopback or private address", "where the host's name resolves: the world outside"),
    ("invalid-input", "a raw upload names its file with ?filename=", "a parameter needed by one media type of the body"),
    ("invalid-input", "not an RFC 5322 message", "a raw e-mail's form is not JSON"),
    ("invalid-input", "the message is empty", "a raw e-mail's form is not JSON"),
    ("invalid-input", "is not a URL with a host that karen can send to", "a host as the WHATWG URL parser reads it"),
    ("invalid-input", "names a host that does not resolve", "where the host's name resolves: the world outside"),
    ("invalid-input", "the message names no sender", "a raw e-mail's form is not JSON"),
    ("invalid-input", "distinct words", "a count of distinct words"),
    ("invalid-input", "a merge of these two customers", "another merge of the same customers: what is stored"),
    ("invalid-input", "follows the file part", "the order of a multipart body's parts"),
    ("invalid-input", "not to the checksum sent", "the bytes of the body against a parameter"),
    ("invalid-input", "names an inactive", "whether the row is active: what is stored"),
    ("invalid-input", "must be absent or equal to the customer in the path", "the body's id against the path's"),
    ("invalid-input", "must be after from", "one parameter against another"),
    ("invalid-input", "a message cannot be its own response", "one field against another (the id)"),
    ("invalid-input", "a category cannot be its own parent", "one field against another (the id)"),
    ("invalid-input", "must be <= maximum_charge", "one field against another"),
    ("invalid-input", "must be >= min_quantity", "one field against another"),
    ("invalid-input", "must be on or before available_until", "one field against another"),
    ("invalid-input", "is required when pricing_model is", "one field against another"),
    ("invalid-input", "a custom key must be snake_case", "the key's form for one preference_type"),
    ("invalid-input", "is not a key of type", "the keys of each preference_type (the taxonomy)"),
    ("invalid-input", "levels deep", "the depth of the stored category tree"),
    ("invalid-input", "its own ancestor", "the stored category tree"),
    ("invalid-input", "total_jobs does not fit in a 32-bit integer", "the two stored customers' counts"),
] + [
    # A quote's fields against the quoted service's or package's pricing, activity and dates on
    # sale: what is stored (and today's date).
    ("invalid-input", words, "the quoted service's or package's stored pricing, activity and dates")
    for words in [
        *(f"does not apply to a {model} service" for model in ("fixed", "hourly", "tiered", "estimate")),
        "applies only to an hourly service", "applies only to a tiered service", "is not a tier of this service",
        "holds quantities", "has no pricing tiers", "no tier of this service holds", "the fixed service has no",
        "the hourly service has no", "the estimate service has no", "names a service of an inactive category",
        "is not on sale on",
    ]
]

# Refusals of what a raw e-mail decodes to (POST /v1/inbound/email's body is message/rfc822,
# not JSON, so no schema states the rules of the fields karen reads out of it).
_UNSTATABLE_RAW_MAIL = [
    ("invalid-input", "must not contain the NUL character", "a decoded e-mail's content: a raw e-mail's form is not JSON"),
]

# Fields whose every refusal depends on another field: what the taxonomy allows a preference's
# value to be depends on its type and key.
_UNSTATABLE_FIELDS = ["preference_value.value"]


@schemathesis.check
def karen_positive_data_acceptance(ctx, response, case):
    """Like schemathesis's positive_data_acceptance, which karen runs in its place: a request
    generated to be schema-valid must not be refused, unless its refusal is one of
    _UNSTATABLE, recognised by the problem's type and rule."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status < 400 or status >= 500 or status in (401, 403, 404, 409, 429):
        return None
    try:
        problem = response.json()
    except Exception:
        problem = {}
    kind = str(problem.get("type", "")).rsplit(":", 1)[-1]
    rule = str(problem.get("rule", ""))
    if any(kind == k and words in rule for k, words, _ in _UNSTATABLE):
        return None
    raw_mail = case.operation.path == "/v1/inbound/email"
    if raw_mail and any(kind == k and words in rule for k, words, _ in _UNSTATABLE_RAW_MAIL):
        return None
    if kind == "invalid-input" and problem.get("field") in _UNSTATABLE_FIELDS:
        return None
    raise AssertionError(
        f"a schema-valid request was refused: {status} {problem.get('field')}: {rule or problem.get('detail')}"
    )
