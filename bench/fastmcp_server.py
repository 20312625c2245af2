"""FastMCP's `from_openapi` over the bench upstream: the comparison point (f) of bench/run.sh.

Usage: fastmcp_server.py --port 9313 --upstream http://127.0.0.1:9300

Serves MCP over Streamable HTTP at /mcp with FastMCP's defaults (stateful sessions, SSE
answers): clients do `initialize` first and send `Mcp-Session-Id`.
"""

import argparse
import logging

import httpx2
from fastmcp import FastMCP

CUSTOMER = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "email": {"type": "string"},
        "company": {"type": "string"},
        "city": {"type": "string"},
        "country": {"type": "string"},
        "tier": {"type": "string"},
        "status": {"type": "string"},
        "signup_date": {"type": "string"},
        "lifetime_value": {"type": "number"},
        "account_manager": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}

NOTE = {
    "type": "object",
    "properties": {
        "customer_id": {"type": "string", "pattern": "^CUST-[0-9]{5}$"},
        "text": {"type": "string", "minLength": 1, "maxLength": 2000},
        "pinned": {"type": "boolean"},
    },
    "required": ["customer_id", "text"],
    "additionalProperties": False,
}


def openapi(upstream: str) -> dict:
    """The OpenAPI 3.1 document of the bench upstream (bench/upstream)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "bench upstream", "version": "1.0.0"},
        "servers": [{"url": upstream}],
        "paths": {
            "/customers/{customer_id}": {
                "get": {
                    "operationId": "get_customer",
                    "summary": "Retrieve one customer by ID.",
                    "parameters": [
                        {
                            "name": "customer_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^CUST-[0-9]{5}$"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The customer",
                            "content": {"application/json": {"schema": CUSTOMER}},
                        }
                    },
                }
            },
            "/notes": {
                "post": {
                    "operationId": "create_note",
                    "summary": "Add a note to a customer.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": NOTE}},
                    },
                    "responses": {
                        "201": {
                            "description": "The note",
                            "content": {"application/json": {"schema": NOTE}},
                        }
                    },
                }
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9313)
    parser.add_argument("--upstream", default="http://127.0.0.1:9300")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    client = httpx2.AsyncClient(base_url=args.upstream, timeout=30.0)
    mcp = FastMCP.from_openapi(openapi_spec=openapi(args.upstream), client=client, name="bench")
    mcp.run(
        transport="http",
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        show_banner=False,
    )


if __name__ == "__main__":
    main()
