"""The masking filter: a registered secret never survives into a formatted log record or error line."""

from __future__ import annotations

import io
import logging

from bot.redaction import SecretFilter, SecretMasker

TOKEN = "987654:SECRETwrongTOKENvalue"


def _logger(masker: SecretMasker) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter(masker))
    logger = logging.getLogger(f"test.redaction.{id(masker)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_a_token_keeps_its_public_bot_id_and_loses_its_secret():
    masker = SecretMasker()
    masker.register(TOKEN, "sk-abcdef123456", None, "x")
    assert masker.mask(f"URL http://h/bot{TOKEN}/getMe key sk-abcdef123456") == "URL http://h/bot987654:***/getMe key ***"
    assert masker.mask("only the half: SECRETwrongTOKENvalue") == "only the half: ***"
    assert masker.mask("x marks nothing") == "x marks nothing", "values this short are not treated as secrets"


def test_message_arguments_and_tracebacks_are_masked():
    masker = SecretMasker()
    masker.register(TOKEN)
    logger, stream = _logger(masker)
    logger.debug("Set Bot API URL: %s", f"http://127.0.0.1/bot{TOKEN}")
    try:
        raise ValueError(f"The token `{TOKEN}` was rejected by the server.")
    except ValueError:
        logger.exception("start-up failed")
    logger.warning("nothing secret here: %d rows", 5)
    text = stream.getvalue()
    assert TOKEN not in text and "SECRETwrongTOKENvalue" not in text
    assert "Set Bot API URL: http://127.0.0.1/bot987654:***" in text
    assert "ValueError: The token `987654:***` was rejected" in text and "Traceback" in text
    assert "nothing secret here: 5 rows" in text


def test_the_cli_error_line_is_masked(tmp_path, capsys, monkeypatch):
    from bot import redaction
    from bot.cli import main

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr(redaction, "MASKER", SecretMasker())
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\ndb_path = "{tmp_path / "s.db"}"\n')

    def failing_run(args, config):
        raise RuntimeError(f"library said {config.telegram.token}")

    from bot.commands import train
    monkeypatch.setattr(train, "run", failing_run)
    assert main(["train", "--config", str(config)]) == 1
    assert capsys.readouterr().err.strip() == "finassist train: RuntimeError: library said 987654:***"
