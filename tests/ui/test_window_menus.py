"""Finding things in the window: a menu bar with every action and its keys, a searchable shortcut sheet (F1, ?),
Ctrl+Q / Ctrl+W, SVG icons, tooltips naming keys, a key strip that fits the proposal, and themes from the palette."""

from __future__ import annotations

import json
import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu

from app.paths import config_dir, resources_dir
from app.services.settings import Settings, load_settings
from app.ui.diff_view import DiffView
from app.ui.review_keys import QUEUE_HINT, REVIEW_KEYS
from app.ui.review_panel import ReviewPanel
from app.ui.settings_dialog import SettingsDialog
from app.ui.shortcut_sheet import key_rows, key_text
from app.ui.theme import apply_theme, theme_palette, ui_colours
from app.ui.transcript_view import TranscriptView
from app.ui.window_commands import MENUS, WINDOW_COMMANDS
from tests.support.window_harness import WindowDriver


@pytest.fixture
def system_theme_after(qapp):
    yield
    apply_theme(qapp, "system")


def menu_entries(menu: QMenu, path: str = "") -> list[tuple[str, str, str]]:
    """(menu path, label, keys as shown) of every entry, submenus included."""
    entries = []
    for action in menu.actions():
        if action.isSeparator():
            continue
        if action.menu() is not None:
            entries += menu_entries(action.menu(), f"{path}{action.text()}/")
            continue
        label, _, shown = action.text().partition("\t")
        keys = shown or ", ".join(key_text(k.toString()) for k in action.shortcuts())
        entries.append((path, label.replace("&", ""), keys))
    return entries


def window_menus(window) -> dict[str, list[tuple[str, str, str]]]:
    return {action.text().replace("&", ""): menu_entries(action.menu()) for action in window.menuBar().actions()}


def run(qasync_loop, driver: WindowDriver, scenario):
    async def wrapped():
        window = await driver.open()
        try:
            return await scenario(window)
        finally:
            await driver.close()

    return qasync_loop.run_until_complete(wrapped())


def test_the_menu_bar_has_file_edit_view_review_and_help_with_every_command_and_its_keys(qtbot, qasync_loop, tmp_path):
    driver = WindowDriver(qtbot, tmp_path / "s.db")

    async def scenario(window):
        return window_menus(window)

    menus = run(qasync_loop, driver, scenario)

    assert list(menus) == list(MENUS)
    for command in WINDOW_COMMANDS:
        keys = ", ".join(key_text(k) for k in command.keys)
        # Qt shows the first key; "?" also answers as Shift+? (how most layouts type it).
        assert any(entry[:2] == ("", command.label) and entry[2].startswith(keys) for entry in menus[command.menu])
    review = {label: keys for _, label, keys in menus["Review"]}
    for binding in REVIEW_KEYS:
        assert review[binding.label] == ", ".join(key_text(k) for k in binding.keys)
    assert ("Diff/", "Unified or side by side", "T") in menus["View"]
    assert {"Quit": "Ctrl+Q", "Close window": "Ctrl+W"}.items() <= {
        label: keys for _, label, keys in menus["File"]
    }.items()


def test_the_menus_and_the_shortcut_sheet_name_the_same_keys_for_the_same_actions(qtbot, qasync_loop, tmp_path):
    driver = WindowDriver(qtbot, tmp_path / "s.db")

    async def scenario(window):
        return window_menus(window)

    menus = run(qasync_loop, driver, scenario)
    sheet = {(row.what, row.keys) for row in key_rows()}

    keyed = [(label, keys) for entries in menus.values() for _, label, keys in entries if keys]
    assert len(keyed) > 30
    for label, keys in keyed:
        first = keys.split(", ")[0]
        assert any(what == label.rstrip("…") and first in shown for what, shown in sheet), (label, keys)


def test_f1_and_the_question_mark_open_the_shortcut_sheet_whose_filter_narrows_the_keys(qtbot, qasync_loop, tmp_path):
    driver = WindowDriver(qtbot, tmp_path / "s.db")

    async def scenario(window):
        window.show_sessions()
        window.session_list.setFocus()
        QTest.keyClick(window.session_list, Qt.Key.Key_F1)
        sheet = window.shortcut_sheet
        opened_by_f1 = sheet is not None and sheet.isVisible()
        sheet.hide()
        window.activateWindow()
        window.session_list.setFocus()
        QTest.keyClick(window.session_list, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
        opened_by_question = sheet.isVisible()
        everything = len(sheet.visible_rows())
        QTest.keyClicks(sheet.filter, "reject hunk")
        narrowed = sheet.visible_rows()
        counter = sheet.count.text()
        QTest.keyClick(sheet.filter, Qt.Key.Key_Escape)
        cleared = len(sheet.visible_rows())
        return opened_by_f1, opened_by_question, everything, narrowed, counter, cleared

    opened_by_f1, opened_by_question, everything, narrowed, counter, cleared = run(qasync_loop, driver, scenario)

    assert opened_by_f1 and opened_by_question
    assert everything == len(key_rows()) == cleared
    assert [(row.keys, row.what) for row in narrowed] == [("Shift+R", "Reject the current hunk with a reason")]
    assert counter == f"1 of {everything} keys"


def test_typing_a_question_mark_in_a_text_box_types_it_instead_of_opening_the_sheet(qtbot, qasync_loop, tmp_path):
    driver = WindowDriver(qtbot, tmp_path / "s.db")

    async def scenario(window):
        window.show_composer()
        window.composer.task_edit.setFocus()
        QTest.keyClicks(window.composer.task_edit, "why?")
        return window.composer.task_edit.toPlainText(), window.shortcut_sheet

    text, sheet = run(qasync_loop, driver, scenario)
    assert text == "why?" and sheet is None


@pytest.mark.parametrize("key", [Qt.Key.Key_Q, Qt.Key.Key_W])
def test_ctrl_q_and_ctrl_w_close_the_window_and_it_remembers_its_size(qtbot, qasync_loop, tmp_path, key):
    driver = WindowDriver(qtbot, tmp_path / "s.db")

    async def scenario(window):
        window.resize(1010, 700)
        closed = []
        window.closed.connect(lambda: closed.append(True))
        QTest.keyClick(window.session_list, key, Qt.KeyboardModifier.ControlModifier)
        return closed, window.isVisible()

    closed, visible = run(qasync_loop, driver, scenario)
    assert closed == [True] and not visible
    assert (config_dir() / "window.ini").is_file()
    assert "geometry" in (config_dir() / "window.ini").read_text()


def test_main_actions_carry_simple_svg_icons_from_resources(qtbot, qasync_loop, tmp_path):
    driver = WindowDriver(qtbot, tmp_path / "s.db")

    async def scenario(window):
        toolbar = [a for a in window.menus.toolbar.actions() if not a.isSeparator()]
        return [(a.text(), a.icon().isNull()) for a in toolbar], [
            a.icon().isNull() for _, a in window.menus.review_icons
        ]

    toolbar, review = run(qasync_loop, driver, scenario)

    assert len(toolbar) >= 6 and not any(null for _, null in toolbar), toolbar
    assert review and not any(review)
    for command in WINDOW_COMMANDS:
        if command.icon:
            path = resources_dir() / "icons" / f"{command.icon}.svg"
            text = path.read_text(encoding="utf-8")
            assert QSvgRenderer(path.as_posix()).isValid() and 'viewBox="0 0 24 24"' in text
            assert "currentColor" in text and not re.search(r"#[0-9a-fA-F]{3,6}\b", text)


def test_every_review_button_has_a_tooltip_naming_its_key(qtbot):
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    buttons = [
        panel.approve_button,
        panel.reject_button,
        panel.edit_button,
        panel.always_allow_button,
        panel.compare_button,
        *panel.compare_buttons,
        panel.confirm_button,
        panel.cancel_button,
        *panel.hunk_buttons,
    ]

    for button in buttons:
        tip = button.toolTip()
        assert tip and re.search(r"[(\[][^)\]]*(Shift\+|Ctrl\+|Enter|Esc|\b[A-Z]\b)", tip), (button.text(), tip)
    assert panel.approve_button.toolTip() == "Approve  (A)"
    assert panel.reject_hunk_button.toolTip() == "Reject the current hunk with a reason  (Shift+R)"


def test_the_key_strip_under_a_command_lists_only_keys_that_work_on_a_command(qtbot):
    view = DiffView()
    qtbot.addWidget(view)
    view.resize(800, 300)

    view.show_command("python3 -m unittest -v", ".", token=1)
    command_strip = view.legend.text()
    view.set_diff_texts = None
    from app.domain.diffing import proposal_diff

    view.show_diff(proposal_diff(2, b"a\nb\n", b"a\nc\n", "f.py"), token=2)
    diff_strip = view.legend.text()

    assert "find" in command_strip and "wrap" in command_strip
    for diff_only in ("hunk", "unified/split", "expand", "whitespace"):
        assert diff_only not in command_strip
        assert diff_only in diff_strip


def test_the_queue_hint_strip_is_read_from_the_queue_key_table(qtbot, qasync_loop, tmp_path):
    from PySide6.QtWidgets import QLabel

    driver = WindowDriver(qtbot, tmp_path / "s.db")

    async def scenario(window):
        return window.queue_view.findChild(QLabel, "queueHint").text()

    assert run(qasync_loop, driver, scenario) == QUEUE_HINT
    assert QUEUE_HINT.startswith("j/k move · Enter opens · a approve")


# -- themes ------------------------------------------------------------------------------------------------------------


def contrast(foreground: str, background: QColor) -> float:
    def luminance(colour: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())

    a, b = sorted((luminance(QColor(foreground)), luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_reject_error_and_muted_text_are_readable_on_the_themes_background(theme):
    palette = theme_palette(theme)
    colours = ui_colours(palette)
    for role in ("reject", "approve_text", "link"):
        assert contrast(colours[role], palette.color(QPalette.ColorRole.Window)) >= 4.5, role
        assert contrast(colours[role], palette.color(QPalette.ColorRole.Button)) >= 4.0, role
    assert contrast(colours["muted"], palette.color(QPalette.ColorRole.Window)) >= 4.5


def test_the_stylesheet_names_no_colour_of_its_own():
    text = (resources_dir() / "themes" / "signoff.qss").read_text(encoding="utf-8")
    rules = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|\b(white|black|red|green)\b", rules)
    assert "@reject@" in rules


def test_transcript_colours_come_from_the_theme_and_follow_a_change_of_theme(qtbot, qapp, system_theme_after):
    apply_theme(qapp, "light")
    view = TranscriptView(1)
    qtbot.addWidget(view)
    view.add_tool_call("run_command", {"command": "make test"})
    view.add_tool_result("FAILED (errors=1)", True)

    def colour_of(text: str) -> str:
        cursor = view.document().find(text)
        return cursor.charFormat().foreground().color().name()

    light = (colour_of("make test"), colour_of("FAILED"))
    apply_theme(qapp, "dark")
    qtbot.waitUntil(lambda: colour_of("FAILED") != light[1])
    dark_colours = ui_colours(qapp.palette())

    assert light == (ui_colours(theme_palette("light"))["link"], ui_colours(theme_palette("light"))["reject"])
    assert (colour_of("make test"), colour_of("FAILED")) == (dark_colours["link"], dark_colours["reject"])
    assert contrast(colour_of("FAILED"), qapp.palette().color(QPalette.ColorRole.Base)) >= 4.5


def test_the_view_menus_theme_applies_at_once_and_is_kept_in_settings(qtbot, qasync_loop, tmp_path, system_theme_after):
    driver = WindowDriver(qtbot, tmp_path / "s.db", settings=Settings(reviewer="ada", undo_seconds=0.0))

    async def scenario(window):
        window.menus.theme_actions["dark"].trigger()
        await driver.until(
            lambda: json.loads(settings_file.read_text())["theme"] == "dark" if settings_file.exists() else False
        )
        dark = QApplication.palette().color(QPalette.ColorRole.Window).lightness()
        window.menus.theme_actions["light"].trigger()
        await driver.until(lambda: json.loads(settings_file.read_text())["theme"] == "light")
        light = QApplication.palette().color(QPalette.ColorRole.Window).lightness()
        return dark, light, window.settings.theme

    settings_file = config_dir() / "settings.json"
    dark, light, kept = run(qasync_loop, driver, scenario)
    assert dark < 60 < 200 < light
    assert kept == "light" and load_settings().theme == "light"


def test_settings_offers_system_light_and_dark_and_a_saved_unknown_theme_falls_back_to_system(qtbot):
    dialog = SettingsDialog(Settings(theme="dark"), key_status="", model_ids=[])
    qtbot.addWidget(dialog)

    offered = [dialog.theme_combo.itemData(i) for i in range(dialog.theme_combo.count())]
    shown = dialog.theme_combo.currentData()
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("light"))

    assert offered == ["system", "light", "dark"] and shown == "dark"
    assert dialog.result_value().settings.theme == "light"
    (config_dir()).mkdir(parents=True, exist_ok=True)
    (config_dir() / "settings.json").write_text(json.dumps({"theme": "purple", "reviewer": "ada"}))
    assert load_settings().theme == "system" and load_settings().reviewer == "ada"


def test_the_review_menu_judges_the_proposal_on_screen_like_its_key(qtbot, qasync_loop, stack_factory):
    from app.standin.scenario import text_turn, tool_turn
    from tests.ui.test_window_review import GREET, decisions_in, edit, start_task

    stack = stack_factory([tool_turn(edit("'hi '", "'yo '")), text_turn("Done.")], files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        await driver.until(lambda: window.review_panel.proposal is not None, what="a proposal on screen")
        [reject] = [a for a in window.menus.menus["Review"].actions() if a.text().startswith("Reject with a reason\t")]
        reject.trigger()
        asked = window.review_panel.reason_box.isVisible()
        QTest.keyClicks(window.review_panel.reason_box, "Say Hello.")
        QTest.keyClick(window.review_panel.reason_box, Qt.Key.Key_Return)
        await driver.until(lambda: decisions_in(stack.db_path), what="the decision")
        await driver.close()
        return asked

    assert qasync_loop.run_until_complete(scenario())
    [decision] = decisions_in(stack.db_path)
    assert decision.verdict == "reject" and decision.reason == "Say Hello."


def test_about_opens_without_blocking_the_event_loop(qtbot, qasync_loop, tmp_path):
    driver = WindowDriver(qtbot, tmp_path / "s.db")

    async def scenario(window):
        window.about_action.trigger()  # a blocking exec() would not return here until the box closed
        box = window.about_box
        shown = box.isVisible() and "Signoff" in box.text() and str(config_dir()) in box.text()
        box.close()
        return shown

    assert run(qasync_loop, driver, scenario)
