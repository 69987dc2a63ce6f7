"""Model cards (`cards/<model>.md`): YAML frontmatter for machine state, a Markdown body
where generated sections sit between markers and everything else is the human's."""
