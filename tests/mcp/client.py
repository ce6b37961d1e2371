"""karen's MCP server driven by an outside client: the official Python SDK (`mcp` on PyPI).

Run by .ci/run after the Rust tests:  python tests/mcp/client.py path/to/karen

It seeds a fresh SQLite file with the sample data, then over stdio (`karen mcp`) and over the
streamable HTTP transport (`/mcp` on `karen serve`, with a read and a write token) it initializes,
lists the tools, calls every tool, and checks that bad arguments come back as tool errors naming
the argument, never as protocol errors. Exits non-zero on the first failed check.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

ALL_TOOLS = {
    "find_customer", "get_reply_context", "get_history", "search_messages", "search_services", "quote",
    "get_contact_plan", "record_observation", "record_message",
}
WRITE_TOOLS = {"record_observation", "record_message"}
CHECKS = 0


def check(condition, what):
    global CHECKS
    if not condition:
        raise AssertionError(what)
    CHECKS += 1


def payload(result):
    """The JSON a tool answered (its structured content, which is also its text)."""
    text = result.content[0].text
    data = json.loads(text)
    if result.structured_content is not None:
        check(result.structured_content == data, "structured content and text agree")
    return data


async def ok(session, name, args):
    result = await session.call_tool(name, args)
    check(not result.is_error, f"{name} {args} succeeds: {result.content[0].text[:300]}")
    return payload(result)


async def tool_error(session, name, args, field):
    result = await session.call_tool(name, args)
    check(result.is_error, f"{name} {args} is a tool error")
    data = payload(result)
    check(data.get("field") == field, f"{name} {args} names {field}: {data}")
    return data


async def exercise(session, writes, label):
    init = await session.initialize()
    check(init.server_info.name == "karen", f"{label}: server is karen")
    listed = await session.list_tools()
    names = {t.name for t in listed.tools}
    expected = ALL_TOOLS if writes else ALL_TOOLS - WRITE_TOOLS
    check(names == expected, f"{label}: tools listed {sorted(names)}")
    for tool in listed.tools:
        check(tool.description and len(tool.description) > 40, f"{label}: {tool.name} is described")
        check(tool.input_schema.get("type") == "object", f"{label}: {tool.name} has an object schema")

    found = await ok(session, "find_customer", {"email": "Dana.Whitfield@Example.com"})
    check(len(found["customers"]) == 1, f"{label}: find_customer by e-mail")
    customer = found["customers"][0]
    cid = customer["id"]
    by_phone = await ok(session, "find_customer", {"phone": customer["primary_phone"]})
    check(any(c["id"] == cid for c in by_phone["customers"]), f"{label}: find_customer by phone")
    none = await ok(session, "find_customer", {"email": "nobody@example.com"})
    check(none["customers"] == [], f"{label}: an unknown e-mail finds no one")
    await tool_error(session, "find_customer", {"email": "a@example.com", "phone": "+17575550100"}, "email")

    history = await ok(session, "get_history", {"customer_id": cid, "limit": 2})
    check(len(history["items"]) >= 1, f"{label}: get_history has messages")
    message = history["items"][0]
    await tool_error(session, "get_history", {"customer_id": "not-a-uuid"}, "customer_id")

    said = await ok(session, "search_messages", {"customer_id": cid, "query": "leaky faucets"})
    check(len(said["items"]) >= 1, f"{label}: search_messages finds what was said")
    check(all("<mark>" in h["snippet"] for h in said["items"]), f"{label}: search_messages marks the matches")
    await tool_error(session, "search_messages", {"customer_id": cid, "query": "x" * 10001}, "query")

    context = await ok(session, "get_reply_context", {"customer_id": cid, "conversation_id": message["id"]})
    check(context["customer"]["id"] == cid, f"{label}: context of the customer")
    check(context["message"]["id"] == message["id"], f"{label}: context around the message")
    for part in ("preferences", "consent", "contact_plan", "thread", "history", "latest_by_medium", "analytics", "services"):
        check(part in context, f"{label}: context has {part}")
    if message.get("external_id"):
        by_message = await ok(session, "get_reply_context", {"medium": message["medium"], "external_id": message["external_id"]})
        check(by_message["message"]["id"] == message["id"], f"{label}: context by external id")
    await tool_error(session, "get_reply_context", {"customer_id": cid, "history": 0}, "history")
    await tool_error(session, "get_reply_context", {"medium": "sms"}, "external_id")

    hits = await ok(session, "search_services", {"query": "faucet"})
    check(len(hits["items"]) >= 1, f"{label}: search_services finds the faucet service")
    service = hits["items"][0]["service"]
    await tool_error(session, "search_services", {"query": "!!!"}, "query")

    quote = await ok(session, "quote", {"service_id": service["id"]})
    check(quote["currency"] == "USD" and quote["total"], f"{label}: quote has a total: {quote}")
    check(len(quote["steps"]) >= 1, f"{label}: quote lists its steps")
    await tool_error(session, "quote", {"service_id": service["id"], "quantity": 0}, "quantity")
    await tool_error(session, "quote", {"quantity": "three"}, "quantity")
    await tool_error(session, "quote", {"service_id": service["id"], "colour": "red"}, "colour")

    plan = await ok(session, "get_contact_plan", {"customer_id": cid, "urgency": "urgent"})
    check("channels" in plan and "timezone" in plan, f"{label}: contact plan")
    await tool_error(session, "get_contact_plan", {"customer_id": cid, "urgency": "whenever"}, "urgency")

    observation = {
        "customer_id": cid, "preference_type": "communication_method", "preference_key": "preferred_channel",
        "value": "sms", "source": "explicit", "confidence": "0.9", "conversation_id": message["id"],
    }
    sent = {
        "customer_id": cid, "medium": "sms", "direction": "outbound", "content": "We can come Tuesday at 10.",
        "external_id": f"SM-{label}-1", "response_id": message["id"] if message["direction"] == "inbound" else None,
    }
    if writes:
        learned = await ok(session, "record_observation", observation)
        check(learned["outcome"] in ("created", "reinforced", "superseded", "weakened", "rejected"), f"{label}: learned")
        await tool_error(session, "record_observation", {**observation, "confidence": "1.5"}, "confidence")
        first = await ok(session, "record_message", sent)
        again = await ok(session, "record_message", sent)
        check(first["conversation"]["id"] == again["conversation"]["id"], f"{label}: a redelivery is stored once")
        check(again["created"] is False, f"{label}: the second record says not created")
        await tool_error(session, "record_message", {**sent, "medium": "pigeon"}, "medium")
        stop = {"customer_id": cid, "medium": "sms", "direction": "inbound", "content": "Stop.", "external_id": f"SM-{label}-stop"}
        await ok(session, "record_message", stop)
        refused = await session.call_tool("record_message", {**sent, "external_id": f"SM-{label}-2"})
        check(refused.is_error and payload(refused)["error"] == "conflict", f"{label}: no sms after STOP")
        plan = await ok(session, "get_contact_plan", {"customer_id": cid, "urgency": "urgent"})
        check("sms" not in plan["channels"], f"{label}: the plan never offers sms after STOP")
        await ok(session, "record_message", {**stop, "content": "START", "external_id": f"SM-{label}-start"})
    else:
        denied = await session.call_tool("record_message", sent)
        check(denied.is_error and payload(denied)["error"] == "forbidden", f"{label}: a read token cannot record")


async def over_stdio(karen, url, writes):
    args = ["--database-url", url, "mcp"] + ([] if writes else ["--read-only"])
    params = StdioServerParameters(command=karen, args=args, env={"RUST_LOG": "warn"})
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await exercise(session, writes, "stdio" + ("" if writes else " read-only"))


async def over_http(base, token, writes):
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with client:
        async with streamable_http_client(f"{base}/mcp", http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                await exercise(session, writes, "http " + ("write" if writes else "read"))


def run(karen, url, *args):
    out = subprocess.run([karen, "--database-url", url, *args], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    karen = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite://{tmp}/karen.db"
        run(karen, url, "seed", "--sample")
        asyncio.run(over_stdio(karen, url, True))
        asyncio.run(over_stdio(karen, url, False))

        reader = run(karen, url, "token", "create", "--name", "mcp-read", "--scope", "read")
        writer = run(karen, url, "token", "create", "--name", "mcp-write", "--scope", "read,write")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([karen, "--database-url", url, "serve", "--listen", f"127.0.0.1:{port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{base}/readyz", timeout=1)
                    break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.1)
            request = urllib.request.Request(f"{base}/mcp", method="POST", data=b"{}",
                                             headers={"content-type": "application/json"})
            try:
                urllib.request.urlopen(request, timeout=5)
                check(False, "/mcp without a token is refused")
            except urllib.error.HTTPError as e:
                check(e.code == 401, f"/mcp without a token answers 401, not {e.code}")
            asyncio.run(over_http(base, writer, True))
            asyncio.run(over_http(base, reader, False))
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"mcp client: {CHECKS} checks passed")


if __name__ == "__main__":
    main()
