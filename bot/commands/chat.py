"""`finassist chat CUSTOMER_ID`: talk to the assistant in a terminal, or answer piped questions one a line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO

from bot.cli import CommandFailed
from bot.config import Config

PROMPT = "you> "
EXIT_WORDS = {"quit", "exit", "bye!", ":q"}


async def _converse(assistant, customer_id: str, stdin: TextIO, stdout: TextIO, interactive: bool) -> None:
    conversation = f"cli:{customer_id}"
    first = True
    if interactive:
        print(f"FinAssist chat as {customer_id}. Ask about your balance, spending, budget... ('quit' to leave)",
              file=stdout)
    while True:
        if interactive:
            try:
                line = await asyncio.to_thread(input, PROMPT)
            except EOFError:
                print(file=stdout)
                break
        else:
            line = stdin.readline()
            if not line:
                break
        question = line.strip()
        if not question:
            continue
        if interactive and question.lower() in EXIT_WORDS:
            break
        reply = await assistant.answer(customer_id, question, conversation)
        if not interactive and not first:
            print(file=stdout)
        first = False
        print(reply.text, file=stdout)
        if interactive and reply.suggestions:
            print("  try: " + " | ".join(reply.suggestions), file=stdout)
        stdout.flush()
    await assistant.aclose()


def run(args: argparse.Namespace, config: Config) -> int:
    from bot.container import build_services
    from bot.llm.assistant import build_assistant

    services = build_services(config)
    try:
        if not services.insights.customer_exists(args.customer_id):
            raise CommandFailed(f"no customer with ID {args.customer_id!r} in the store "
                                f"({services.store.path}); run `finassist ingest` first?")
        assistant = build_assistant(config, services.insights)
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        asyncio.run(_converse(assistant, args.customer_id, sys.stdin, sys.stdout, interactive))
    finally:
        services.close()
    return 0
