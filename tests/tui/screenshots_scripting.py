"""Screenshots of the scripting screen (F4): the EVAL editor with a reply, and the functions view.

``python -m tests.tui.screenshots_scripting`` writes ``screenshots/14-…`` and ``15-…`` from the
seeded dataset of ``tests/tui/screenshots.py`` (whose helpers it reuses), at 120×40.
``steps()`` lists the shots so ``screenshots.py`` can run them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent, TextArea

from redistui.app import RedisTUI
from redistui.widgets.scripting import ScriptingScreen
from tests.tui.screenshots import run, shoot, wait

SCRIPT = """-- Release a lock only if we still hold it (redis-py's Lock)
local token = redis.call('get', KEYS[1])
if not token or token ~= ARGV[1] then
    return {0, token or false}
end
redis.call('del', KEYS[1])
return {1, token}
"""

LIBRARY = """#!lua name=ratelimit
-- A fixed-window rate limiter: one counter per window
local function hit(keys, args)
    local n = redis.call('incr', keys[1])
    if n == 1 then redis.call('expire', keys[1], tonumber(args[1])) end
    return n
end
local function peek(keys)
    return tonumber(redis.call('get', keys[1]) or '0')
end
redis.register_function('hit', hit)
redis.register_function{function_name='peek', callback=peek, flags={'no-writes'}}
"""


async def open_scripting(pilot: Pilot, app: RedisTUI) -> ScriptingScreen:
    await pilot.press("f4")
    await wait(pilot, lambda: isinstance(app.screen, ScriptingScreen))
    screen = app.screen
    assert isinstance(screen, ScriptingScreen)
    return screen


async def script_editor(pilot: Pilot, app: RedisTUI) -> None:
    with redis.Redis(port=app.spec.port) as conn:
        conn.set("lock:report", "worker-7")
    screen = await open_scripting(pilot, app)
    screen.query_one("#script-editor", TextArea).text = SCRIPT
    screen.query_one("#script-keys", Input).value = "lock:report"
    screen.query_one("#script-argv", Input).value = "worker-3"
    await pilot.press("ctrl+r")
    await wait(pilot, lambda: screen.runs == 1)
    await pilot.pause(0.3)
    await shoot(app, "14-script-editor")


async def functions_view(pilot: Pilot, app: RedisTUI) -> None:
    with redis.Redis(port=app.spec.port) as conn:
        conn.function_load(LIBRARY, replace=True)
    screen = await open_scripting(pilot, app)
    screen.query_one(TabbedContent).active = "tab-functions"
    await wait(pilot, lambda: screen.loads >= 1 and bool(screen.libraries))
    await pilot.pause(0.3)
    await shoot(app, "15-functions-view")


def steps() -> list[Callable[[Pilot, RedisTUI], Awaitable[None]]]:
    return [script_editor, functions_view]


def main() -> None:
    run(steps())


if __name__ == "__main__":
    main()
