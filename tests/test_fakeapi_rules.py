"""The fake Bot API refuses what Telegram refuses, and the bot never asks for it.

First the fake itself, through the real `Bot` over HTTP: text length after entity parsing,
well-formed HTML, callback data size, "message is not modified". Then a corpus of hostile and
oversized inputs through the whole bot: the harness fails any test in which the bot made a
call Telegram would have refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
)

from bot.pydantic_pins import PinningAiohttpSession
from crm.enums import Role
from tests.fakeapi import FakeTelegram
from tests.harness import TOKEN, Harness, texts

CHAT = 4242


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    tg = FakeTelegram(TOKEN)
    session = PinningAiohttpSession()
    session.api = TelegramAPIServer.from_base(await tg.start())
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    yield tg, bot
    await bot.session.close()
    await tg.stop()


async def refused(bot: Bot, text: str, **kwargs: object) -> str:
    with pytest.raises(TelegramBadRequest) as info:
        await bot.send_message(CHAT, text, **kwargs)  # type: ignore[arg-type]
    return info.value.message


BROKEN_HTML = {
    "<b>bold": "Can't find end tag",
    "<b>bold</i>": "Unexpected end tag",
    "<div>x</div>": 'Unsupported start tag "div"',
    "<script>alert(1)</script>": 'Unsupported start tag "script"',
    "a < b": "Unclosed start tag",
    "x <b": "Unclosed start tag",
    "<b><i>x</b></i>": "Unexpected end tag",
    "1 &nbsp; 2": 'Unsupported HTML entity "&nbsp;"',
    "<span>x</span>": 'must have class "tg-spoiler"',
    "</b>": "Unexpected end tag",
}
GOOD_HTML = [
    "<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <code>c</code>",
    '<a href="https://example.com/?a=1&amp;b=2">link</a>',
    "<pre><code>x &lt; y</code></pre>",
    "Tom &amp; Jerry &quot;quoted&quot; &#8212; &#x2014; a > b",
    "AT&T",  # a lone ampersand is left as it is
    '<span class="tg-spoiler">secret</span> <tg-spoiler>s</tg-spoiler>',
    "<blockquote>cited</blockquote>",
    "<B>upper-case tag</B>",
]


async def test_the_fake_refuses_broken_html_and_accepts_telegrams_own(
    fake: tuple[FakeTelegram, Bot],
) -> None:
    tg, bot = fake
    for text, reason in BROKEN_HTML.items():
        message = await refused(bot, text)
        assert "can't parse entities" in message and reason in message, (text, message)
    for text in GOOD_HTML:
        await bot.send_message(CHAT, text)
    # Without parse_mode the same characters are plain text.
    for text in BROKEN_HTML:
        await bot.send_message(CHAT, text, parse_mode=None)
    assert len(tg.violations) == len(BROKEN_HTML)
    tg.violations.clear()


async def test_the_fake_counts_length_after_parsing_in_utf16(
    fake: tuple[FakeTelegram, Bot],
) -> None:
    tg, bot = fake
    await bot.send_message(CHAT, "x" * 4096)
    await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>")  # tags do not count
    await bot.send_message(CHAT, "&lt;" * 4096)  # an entity is one character
    await bot.send_message(CHAT, "ż" * 4096)  # Polish letters are one unit each
    await bot.send_message(CHAT, "😀" * 2048)  # an emoji is two UTF-16 units
    assert "message is too long" in await refused(bot, "x" * 4097)
    assert "message is too long" in await refused(bot, "😀" * 2049)
    assert "message is too long" in await refused(bot, "ы" * 5000)
    assert "message text is empty" in await refused(bot, "<b> </b>")
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query("1", text="x" * 201, show_alert=True)
    await bot.answer_callback_query("1", text="x" * 200, show_alert=True)
    assert len(tg.violations) == 5
    tg.violations.clear()


async def test_the_fake_limits_callback_data_to_64_bytes(fake: tuple[FakeTelegram, Bot]) -> None:
    tg, bot = fake

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="ok", callback_data=data)]]
        )

    await bot.send_message(CHAT, "a", reply_markup=keyboard("x" * 64))
    await bot.send_message(CHAT, "b", reply_markup=keyboard("ж" * 32))  # 64 bytes in UTF-8
    for data in ("x" * 65, "ж" * 33, "el:open:D:" + "9" * 60):
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await bot.send_message(CHAT, "c", reply_markup=keyboard(data))
    assert len(tg.violations) == 3
    tg.violations.clear()


async def test_the_fake_refuses_an_edit_that_changes_nothing(
    fake: tuple[FakeTelegram, Bot],
) -> None:
    tg, bot = fake
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="ok", callback_data="a")]]
    )
    sent = await bot.send_message(CHAT, "<b>card</b>", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "<b>card</b>", chat_id=CHAT, message_id=sent.message_id, reply_markup=markup
        )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=CHAT, message_id=sent.message_id, reply_markup=markup
        )
    # A new text, or the same text without the keyboard, is a change.
    await bot.edit_message_text(
        "<b>card 2</b>", chat_id=CHAT, message_id=sent.message_id, reply_markup=markup
    )
    await bot.edit_message_text("<b>card 2</b>", chat_id=CHAT, message_id=sent.message_id)
    assert tg.not_modified == 2
    assert tg.violations == []  # a race the bot cannot always avoid: it must take it calmly


# --- the bot keeps to the rules, whatever people type ------------------------------------
HOSTILE = [
    "<b>bold</b>",
    "a < b > c",
    "Tom & Jerry &amp; &nbsp; &#0; &#xFFFFFF;",
    "</i></b><script>alert(1)</script>",
    "\"quotes\" 'single' `back`",
    "😀" * 40,
    "ż" * 3000,
    "x" * 5000,
]


async def test_hostile_and_huge_inputs_break_no_telegram_rule(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    for n, text in enumerate(HOSTILE, start=1):
        replies = await anna.send(f"/deal {text}")
        assert texts(replies), text
        code = f"D{n}"
        for command in (f"/{code}", f"/note {code} {text}", f"/{code}", f"/find {text[:50]}"):
            assert texts(await anna.send(command)), command
        await anna.send(f"/todo {code} jutro 10:00 {text}")
    await anna.send("/today")
    await anna.send("/deals")
    # A card whose timeline is full of long notes still fits one message.
    for _ in range(6):
        await anna.send("/note D8 " + "ą" * 3900)
    card = texts(await anna.send("/D8"))[0]
    assert len(card) <= 4096


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_a_button_pressed_twice_is_no_error(harness: Harness, lang: str) -> None:
    """A list page or Done pressed twice edits the message into what it already shows:
    Telegram says "message is not modified", and the person sees no error for it."""
    name, apology = ("Anna", "Coś poszło nie tak") if lang == "pl" else ("Иван", "что-то пошло")
    rep = await harness.member(Role.REP, name, language_code=lang)
    for i in range(25):
        await rep.send(f"/deal oferta {i}")
    listing = (await rep.send("/deals"))[0]
    next_page = listing.buttons[-1]["text"]
    first = await rep.press(next_page, listing)
    second = await rep.press(next_page, listing)
    assert [c.method for c in first] == [c.method for c in second]
    await rep.send(
        "/todo D1 za 1 godzinę telefon" if lang == "pl" else "/todo D1 через 1 час звонок"
    )
    today = (await rep.send("/today"))[0]
    done = [await rep.press("✅", today) for _ in range(2)]
    assert harness.tg.not_modified == 2
    said = [str(c.params.get("text") or "") for calls in (first, second, *done) for c in calls]
    assert not any(apology.lower() in t.lower() for t in said), said
    # The second press answers as the first did ("Done: telephone"), nothing else.
    assert [c.method for c in done[1]] == ["answerCallbackQuery", "editMessageReplyMarkup"]
    assert done[1][0].params.get("text") == done[0][0].params.get("text")


def tiny_png(width: int = 1080, height: int = 800) -> bytes:
    """A PNG header as far as the checks read it (signature and IHDR with the size)."""
    return (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
        + width.to_bytes(4, "big")
        + height.to_bytes(4, "big")
        + b"\x08\x02\x00\x00\x00"
    )


async def test_photos_and_albums_as_telegram_takes_them(fake: tuple[FakeTelegram, Bot]) -> None:
    """An uploaded PNG comes back as a photo of its size; an album is 2–10 photos, each one
    message of one media group; a file that is no picture, a picture too long for its width,
    an album of one are refused."""
    tg, bot = fake
    sent = await bot.send_photo(CHAT, BufferedInputFile(tiny_png(), "a.png"), caption="<b>x</b>")
    assert sent.photo is not None and (sent.photo[0].width, sent.photo[0].height) == (1080, 800)
    album = await bot.send_media_group(
        CHAT, [InputMediaPhoto(media=BufferedInputFile(tiny_png(), f"{n}.png")) for n in "abc"]
    )
    assert len(album) == 3 and len({m.media_group_id for m in album}) == 1
    assert all(m.photo for m in album)
    for photo, error in (
        (b"not a picture", "IMAGE_PROCESS_FAILED"),
        (tiny_png(100, 2500), "PHOTO_INVALID_DIMENSIONS"),
        (tiny_png(6000, 5000), "PHOTO_INVALID_DIMENSIONS"),
    ):
        with pytest.raises(TelegramBadRequest) as info:
            await bot.send_photo(CHAT, BufferedInputFile(photo, "b.png"))
        assert error in info.value.message
    with pytest.raises(TelegramBadRequest) as info:
        await bot.send_media_group(
            CHAT, [InputMediaPhoto(media=BufferedInputFile(tiny_png(), "one.png"))]
        )
    assert "2 to 10" in info.value.message
    tg.violations.clear()  # the refusals above were asked for
