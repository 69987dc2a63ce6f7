"""One Screen per file; each is a mode of `tui.app.FactoryApp`."""
