"""MODULE (module.c): this server loads no modules, and answers as Redis 7.0 does with none loaded.

LIST is empty. LOAD, LOADEX and UNLOAD are refused while ``enable-module-command``
is ``no`` (the default), as in Redis; where allowed, loading fails (a Python
server cannot load Redis's shared-library modules) and unloading finds no module.
"""

from __future__ import annotations

from server.client import Client
from server.command import command, container
from server.protocol import Error, Status

MODULE_NOT_ALLOWED = Error(
    b"ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run "
    b"it from a local connection, otherwise you need to set this option in the configuration file, "
    b"and then restart the server."
)

container("module", summary="Manages Redis modules.", group="server", since="4.0.0")


def _check_allowed(ctx: Client) -> None:
    allowed = ctx.server.config["enable-module-command"]
    local = ctx.addr.startswith(("127.", "[::1]", "::1")) or ctx.addr.startswith("/")
    if allowed == "no" or (allowed == "local" and not local):
        raise MODULE_NOT_ALLOWED


@command("module|list", arity=2, flags="admin noscript", group="server", since="4.0.0", complexity="O(N)",
         summary="Returns the loaded modules (always none here).",
         tips="nondeterministic_output_order")
def module_list(ctx: Client, _sub: bytes) -> list:
    return []


@command("module|load", arity=-3, flags="admin noscript no_async_loading", group="server", since="4.0.0",
         complexity="O(1)", summary="Loads a module (refused or failing: modules cannot load here).",
         args="path [arg ...]")
def module_load(ctx: Client, _sub: bytes, path: bytes, *args: bytes) -> object:
    _check_allowed(ctx)
    ctx.server.log("warning", f"Module {path.decode('utf-8', 'replace')} failed to load: "
                   "this server cannot load Redis modules")
    raise Error(b"ERR Error loading the extension. Please check the server logs.")


@command("module|loadex", arity=-3, flags="admin noscript no_async_loading", group="server", since="7.0.0",
         complexity="O(1)", summary="Loads a module with configuration (refused or failing here).",
         args="path [name value]{name=configs,token=CONFIG,mt} ... "
              "[(arg){type=block,name=args,token=ARGS}] ...")
def module_loadex(ctx: Client, _sub: bytes, path: bytes, *args: bytes) -> object:
    _check_allowed(ctx)
    ctx.server.log("warning", f"Module {path.decode('utf-8', 'replace')} failed to load: "
                   "this server cannot load Redis modules")
    raise Error(b"ERR Error loading the extension. Please check the server logs.")


@command("module|unload", arity=3, flags="admin noscript no_async_loading", group="server", since="4.0.0",
         complexity="O(1)", summary="Unloads a module (none is ever loaded here).", args="name")
def module_unload(ctx: Client, _sub: bytes, name: bytes) -> object:
    _check_allowed(ctx)
    raise Error(b"ERR Error unloading module: no such module with that name")


MODULE_HELP = [Status(line) for line in (
    b"MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"LIST",
    b"    Return a list of loaded modules.",
    b"LOAD <path> [<arg> ...]",
    b"    Load a module library from <path>, passing to it any optional arguments.",
    b"LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    b"    Load a module library from <path>, while passing it module configurations and optional arguments.",
    b"UNLOAD <name>",
    b"    Unload a module.",
    b"HELP",
    b"    Prints this help.",
)]


@command("module|help", arity=2, flags="loading stale", group="server", since="5.0.0", complexity="O(1)",
         summary="Lists MODULE's subcommands.")
def module_help(ctx: Client, _sub: bytes) -> object:
    return MODULE_HELP
