"""`factory init`."""

from __future__ import annotations

from pathlib import Path

from core.cli.registry import Context, Reply, arg, command
from core.foundation.suggest import Next, factory, low


@command(
    "init",
    help="create a workspace (factory.toml, cards/, adrs/, reports/, .gitignore)",
    schema="factory.init/1",
    args=[arg("dir", nargs="?", default=".", help="folder to make a workspace (default: here)")],
    mutating=True,
    needs_workspace=False,
)
def init(ctx: Context) -> Reply:
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace

    result = init_workspace(Path(ctx.args.dir))
    # The event goes to the new workspace, whatever folder the command ran in.
    made = ctx.__dict__["workspace"] = Workspace(Path(result.path))
    here = ["--workspace", str(result.path)] if Path(ctx.args.dir) != Path(".") else []
    snapshots = [
        Next(
            factory(*here, "data", "snapshot", "--dataset", name),
            f"validates {name}'s source and stores the snapshot runs train on",
        )
        for name in made.config.datasets
    ]
    return Reply(
        result,
        next=[*snapshots, low(factory(*here, "status"), "the new workspace: models, what to do")],
    )


COMMANDS = (init,)
