#!/bin/sh
# A trivial stdio MCP server for bench/egress/sandbox_start.mjs: answers initialize (any
# id, echoed) and nothing else, so that the server's own start costs ~1 ms.
while IFS= read -r line; do
  case "$line" in
    *'"initialize"'*)
      id=$(printf '%s' "$line" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
      printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"tiny","version":"1"}}}\n' "${id:-1}"
      ;;
  esac
done
