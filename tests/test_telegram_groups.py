"""Group chats never see account data (issue 9 item 6): only a private chat linked to a customer does.

Everything the bot says in a group is read by every member, so a group is treated as an unlinked chat: linking
there is refused (the code stays usable), and commands, free text, buttons, /alerts, /unlink and /report answer
only with a pointer to the private chat — for the customer's own Telegram user as much as for anyone else.
"""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.money import format_inr
from bot.services.linking import GroupChat, LinkingService
from bot.storage.database import Store, migrate
from bot.storage.links import LinkStore
from bot.telegram.access import GROUP_BUTTON
from bot.telegram.handlers.text import STALE_BUTTON
from tests.fakes.telegram_app import data_of, running_bot
from tests.fakes.telegram_server import FakeTelegramServer

OWNER, MEMBER = 4011, 4012            # the customer's Telegram user (private chat id = user id) and another member
GROUP, SUPERGROUP = -4001, -1004002   # Telegram: groups and supergroups have negative chat ids
POINTER = "only in a private chat with me (@finassist_test_bot), never in a group"
DATA_COMMANDS = ("/balance", "/spending", "/budget", "/recommend", "/report", "/profile", "/alerts")


def busiest_customer(services) -> str:
    return services.store.db.execute(
        "SELECT customer_id FROM transactions WHERE balance IS NOT NULL GROUP BY customer_id "
        "ORDER BY COUNT(*) DESC, customer_id LIMIT 1").fetchone()[0]


def latest_balance(services, customer: str) -> float:
    return services.store.db.execute(
        "SELECT balance FROM transactions WHERE customer_id = ? AND balance IS NOT NULL "
        "ORDER BY ts DESC, transaction_id DESC LIMIT 1", (customer,)).fetchone()[0]


def sql(services, query: str, *args):
    return services.store.db.execute(query, args).fetchall()


@pytest.fixture
async def owner_linked(trained_services):
    """A running bot; the customer linked in their private chat; a group and a supergroup they are both in.

    The group also carries a link made before the private-only rule (inserted as the old code stored it), so
    the guard is shown to hold on the chat's type, not only on the links table being clean.
    """
    customer = busiest_customer(trained_services)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        fake.set_chat_type(SUPERGROUP, "supergroup")
        linked = await fake.ask(OWNER, OWNER, f"/start {data_of(app).linking.issue_code(customer).code}")
        assert "linked" in linked.text.lower()
        LinkStore(trained_services.store).link(GROUP, customer, OWNER, dt.datetime.now(dt.UTC))
        yield fake, app, customer


async def test_a_link_code_sent_in_a_group_is_refused_and_stays_usable(trained_services):
    customer = busiest_customer(trained_services)
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        fake.set_chat_type(SUPERGROUP, "supergroup")
        code = data_of(app).linking.issue_code(customer).code
        in_group = await fake.ask(GROUP, OWNER, f"/start {code}")
        in_supergroup = await fake.ask(SUPERGROUP, OWNER, f"/link {code}")
        unused = sql(trained_services, "SELECT COUNT(*) FROM link_codes WHERE used_at IS NULL")[0][0]
        in_private = await fake.ask(OWNER, OWNER, f"/link {code}")
    for refusal in (in_group, in_supergroup):
        assert "I link only a private chat with me (@finassist_test_bot), never a group" in refusal.text
        assert "has not been used" in refusal.text
    assert unused == 1
    assert sql(trained_services, "SELECT chat_id FROM link_failures") == []      # no lockout counted either
    assert "linked" in in_private.text.lower()
    assert sql(trained_services, "SELECT chat_id, customer_id FROM chat_links") == [(OWNER, customer)]


async def test_no_data_command_answers_in_a_group_for_the_customer_or_another_member(owner_linked, trained_services):
    fake, _, customer = owner_linked
    figure = format_inr(latest_balance(trained_services, customer))
    private = await fake.ask(OWNER, OWNER, "/balance")
    assert figure in private.text                       # the same command does serve the private chat
    since = fake.mark()
    answers = []
    for chat in (GROUP, SUPERGROUP):
        for user in (OWNER, MEMBER):
            for command in DATA_COMMANDS:
                answers.append(await fake.ask(chat, user, command))
    assert len(answers) == 2 * 2 * len(DATA_COMMANDS)
    assert all(POINTER in a.text and a.reply_markup is None for a in answers)
    assert not any(figure in a.text or customer in a.text for a in answers)
    assert fake.calls_of("sendPhoto", since=since) == []          # /report's chart did not go to a group


async def test_free_text_in_a_group_does_not_reach_the_assistant(owner_linked, trained_services):
    fake, _, customer = owner_linked
    figure = format_inr(latest_balance(trained_services, customer))
    answers = [await fake.ask(chat, user, "what is my balance?")
               for chat in (GROUP, SUPERGROUP) for user in (OWNER, MEMBER)]
    private = await fake.ask(OWNER, OWNER, "what is my balance?")
    assert all(POINTER in a.text for a in answers) and not any(figure in a.text for a in answers)
    assert figure in private.text                       # the assistant answers the private chat with the figure


async def test_buttons_pressed_in_a_group_change_nothing_and_post_nothing(owner_linked, trained_services):
    fake, _, _ = owner_linked
    menu = await fake.ask(OWNER, OWNER, "/alerts")
    before = sql(trained_services, "SELECT * FROM alert_preferences ORDER BY chat_id")
    presses = ["go:budget", "go:report", "go:spending", "al:t:offers", "al:thr:5000", "al:qh:2300-0700"]
    assert {"al:t:offers", "al:thr:5000"} <= set(menu.button_data())
    since = fake.mark()
    for n, data in enumerate(presses):
        fake.push_callback(GROUP if n % 2 else SUPERGROUP, MEMBER if n % 3 else OWNER, 1, data)
    answered = await fake.wait_for("answerCallbackQuery", since=since, count=len(presses))
    assert [(a.params.get("text"), a.params.get("show_alert")) for a in answered] == \
        [(GROUP_BUTTON, "true")] * len(presses)
    assert fake.sent_to(GROUP, since) == fake.sent_to(SUPERGROUP, since) == []
    assert fake.calls_of("editMessageText", since) == fake.calls_of("editMessageReplyMarkup", since) == []
    assert sql(trained_services, "SELECT * FROM alert_preferences ORDER BY chat_id") == before


async def test_unlink_in_a_group_leaves_the_private_link_alone(owner_linked, trained_services):
    fake, _, customer = owner_linked
    answers = [await fake.ask(GROUP, MEMBER, "/unlink"), await fake.ask(SUPERGROUP, OWNER, "/unlink")]
    assert all(POINTER in a.text for a in answers)
    assert (OWNER, customer) in sql(trained_services, "SELECT chat_id, customer_id FROM chat_links")


async def test_start_and_help_in_a_group_point_to_the_private_chat(owner_linked):
    fake, _, _ = owner_linked
    greeting = await fake.ask(SUPERGROUP, MEMBER, "/start")
    help_text = await fake.ask(SUPERGROUP, MEMBER, "/help")
    assert greeting.text.startswith("👋 Hi!") and POINTER in greeting.text and "Welcome back" not in greeting.text
    assert "What I can do" in help_text.text       # the command list is public


async def test_a_button_no_handler_knows_is_still_answered(owner_linked):
    fake, _, _ = owner_linked
    since = fake.mark()
    for chat, user in ((OWNER, OWNER), (GROUP, MEMBER), (7777, 7777)):     # linked, group, never linked
        fake.push_callback(chat, user, 1, "zz:retired-button")
    answered = await fake.wait_for("answerCallbackQuery", since=since, count=3)
    assert [a.params.get("text") for a in answered] == [STALE_BUTTON] * 3
    assert fake.calls_of("sendMessage", since) == []


def test_the_service_refuses_a_group_before_looking_at_the_code(fresh_store):
    service = LinkingService(fresh_store, customer_exists=lambda cid: True)
    code = service.issue_code("C1").code
    for _ in range(6):                                   # more than the lockout allows
        with pytest.raises(GroupChat):
            service.redeem(GROUP, OWNER, code)
    assert service.redeem(OWNER, OWNER, code) == "C1"
    assert service.linked_chats() == [(OWNER, "C1")]


def test_migration_removes_links_settings_and_unsent_messages_of_group_chats(tmp_path):
    store = Store(tmp_path / "old.db")
    try:
        db = store.db
        db.execute("DELETE FROM _migrations WHERE name = '0007_private_links'")   # a store from before the rule
        now = "2026-12-01T10:00:00+00:00"
        for chat in (OWNER, GROUP, SUPERGROUP):
            db.execute("INSERT INTO chat_links VALUES (?, 'C1', ?, ?)", (chat, OWNER, now))
            db.execute("INSERT INTO alert_preferences (chat_id, low_balance, unusual, monthly, offers,"
                       " low_balance_threshold, quiet_hours, updated_at)"
                       " VALUES (?, 1, 1, 1, 1, 2000, '22:00-08:00', ?)", (chat, now))
        rows = [(OWNER, "pending"), (GROUP, "pending"), (SUPERGROUP, "failed"), (GROUP, "sent")]
        for n, (chat, status) in enumerate(rows):
            db.execute("INSERT INTO outbox (chat_id, kind, dedupe_key, payload, created_at, due_at, status) "
                       "VALUES (?, 'low_balance', ?, '{}', ?, ?, ?)", (chat, f"k{n}", now, now, status))
        assert migrate(db) == ["0007_private_links"]
        links = db.execute("SELECT chat_id FROM chat_links").fetchall()
        prefs = db.execute("SELECT chat_id FROM alert_preferences").fetchall()
        outbox = db.execute("SELECT chat_id, status FROM outbox ORDER BY id").fetchall()
    finally:
        store.close()
    assert links == prefs == [(OWNER,)]
    assert outbox == [(OWNER, "pending"), (GROUP, "dropped"), (SUPERGROUP, "dropped"), (GROUP, "sent")]
