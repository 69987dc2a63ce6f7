"""The renderers of each command family's schemas, one module per family of
`core/cli/commands/`, each holding both faces (`MARKDOWN` and `RICH`, schema -> function).
`core.render.catalog` lists them; nothing registers itself on import."""
