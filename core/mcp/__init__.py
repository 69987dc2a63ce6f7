"""The MCP face: factory's commands as MCP tools over stdio (`factory mcp`).

A face above the CLI, which never imports it (it is found through the `factory.faces` entry
point). `tools` derives each tool from the command catalog and its parser, `dispatch` runs
a call through the CLI's own driver in this process (or as a background job for a command
that trains), and `server` speaks the protocol with the official MCP Python SDK.
"""
