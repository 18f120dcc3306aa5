"""The main screen: host panes side by side, the timeline, the inspector and the transport.

The screen shows the app's current :class:`RunView`; the app hands it over with
:meth:`MainScreen.show_run` (with the policies the run started from, for the inspector's
near misses). The screen never reaches up into the app: it is handed its data. Transport
keys move the timeline's cursor; the panes and the inspector follow the cursor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from wfptui.core.datatypes import WinVersion
from wfptui.core.model import Policy
from wfptui.core.trace import ClassifyRecord
from wfptui.tui.query import HELP as QUERY_HELP
from wfptui.tui.query import Query, QueryError, filter_indexes, parse_query
from wfptui.tui.render import partner_of
from wfptui.tui.runview import RunView
from wfptui.tui.widgets.host_pane import HostPane
from wfptui.tui.widgets.inspector import Inspector, near_misses_at
from wfptui.tui.widgets.key_bar import KeyBar
from wfptui.tui.widgets.timeline import HEADER, Timeline

#: Playback speeds in events per second.
SPEEDS = (1, 2, 5, 10, 20, 50, 100, 500)
DEFAULT_SPEED = 2  # index into SPEEDS
#: Above this many records the filter runs in a thread.
_THREADED_FILTER = 50_000


def _only_base(view: RunView, rows: list[int]) -> list[int]:
    """A capture's timeline filters its event lines only (not the classifications beside them)."""
    if not view.is_capture:
        return rows
    base = set(view.observed_rows)
    return [i for i in rows if i in base]


class MainScreen(Screen[None]):
    """Host panes, timeline, inspector, transport bar."""

    AUTO_FOCUS = "#timeline"  # not the (hidden) filter box first: each focus change restyles

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_play", "Play/Pause"),
        Binding("right,n,full_stop", "step(1)", "Step"),
        Binding("left,comma", "step(-1)", "Back"),
        Binding("plus,equals_sign", "speed(1)", "Faster", show=False),
        Binding("minus", "speed(-1)", "Slower", show=False),
        Binding("home,g", "jump_start", "Start", show=False),
        Binding("end,G", "jump_end", "End", show=False),
        Binding("b", "next_block", "Next block"),
        Binding("p", "next_policy", "Next policy", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("z", "maximize_pane", "Zoom"),
        Binding("left_square_bracket", "widen_inspector(1)", "Wider inspector", show=False),
        Binding("right_square_bracket", "widen_inspector(-1)", "Narrower inspector", show=False),
        # the app's actions: a Screen has no focus_next action (the binding would do nothing)
        Binding("tab", "app.focus_next", "Next pane", show=False),
        Binding("shift+tab", "app.focus_previous", "Previous pane", show=False),
    ]
    """
    | Key | Action |
    | :- | :- |
    | space | Play or pause. |
    | right / n / . | Step to the next event. |
    | left / , | Step back. |
    | + / - | Faster / slower playback. |
    | home / g | First event. |
    | end / G | Last event. |
    | b | Next block. |
    | p | Next policy change. |
    | / | Filter the timeline. |
    | escape | Clear the filter (or leave the zoomed pane). |
    | z | Zoom: the focused pane (inspector, timeline, a host) fills the screen; z or escape again to leave. |
    | [ / ] | Move the split: a wider / narrower inspector. |
    | tab / shift+tab | Focus the next / previous pane: host panes, timeline, inspector. |
    """

    def __init__(self, hosts: list[str], view: RunView | None = None, *,
                 windows: Mapping[str, WinVersion] | None = None,
                 policies: Mapping[str, Policy] | None = None) -> None:
        """``view``: a run to show from the first frame (else the app calls :meth:`show_run`);
        ``windows``: each host's Windows version; ``policies``: each host's policy at the
        start of ``view``'s run (both for the near misses)."""
        super().__init__()
        self.hosts = hosts
        self.windows: Mapping[str, WinVersion] = windows or {}
        self.policies: Mapping[str, Policy] = policies or {}
        self.view: RunView | None = None
        self._initial_view = view
        self._initial_cursor = 0
        self._started = False  # composed and mounted: the widgets exist
        self._banner = ""
        self._followed: tuple[RunView | None, int | None] | None = None  # (view, index) on show
        self.query_text = ""
        self.playing = False
        self.speed_index = DEFAULT_SPEED
        self._play_timer: Timer | None = None
        self.status_note = ""
        self._status_text: str | None = None  # what the transport bar shows

    def compose(self) -> ComposeResult:
        lit = self._first_lit_host()
        with Horizontal(id="top"):
            with Vertical(id="left"):
                with Horizontal(id="hosts"):
                    for host in self.hosts:
                        yield HostPane(host, id=f"pane-{host}", active=host == lit)
                # The timeline takes the focus at once (AUTO_FOCUS): the box starts lit. The
                # filter box and its help line are mounted above the header when first opened.
                with Vertical(id="timeline-box", classes="-focus-within"):
                    yield Static(HEADER, id="timeline-header")
                    yield Timeline(id="timeline")
            yield Inspector(id="inspector")
        yield Static("", id="banner")
        yield Static("", id="status")
        yield KeyBar()

    def _first_lit_host(self) -> str | None:
        """The host whose pane the run shown as the screen mounts lights (HostPane.light)."""
        view = self._initial_view
        if view is None or not view.records or self.query_text:
            return None
        record = view.records[max(0, min(self._initial_cursor, len(view.records) - 1))]
        return record.host if isinstance(record, ClassifyRecord) else None

    def on_mount(self) -> None:
        self._start()

    def _start(self) -> None:
        self._started = True
        self.query_one("#timeline-box").border_title = "timeline"
        self.query_one(Inspector).border_title = "inspector"
        self.timeline.focus()
        if self._banner:
            self.set_banner(self._banner)
        view, self._initial_view = self._initial_view, None
        if view is not None:  # before the first layout: the first frame shows the run
            self.show_run(view, self._initial_cursor)
        else:
            self.update_status()

    async def load(self, hosts: list[str], windows: Mapping[str, WinVersion] | None = None) -> None:
        """Start over on other hosts (the app opened another file); :meth:`show_run` follows."""
        self._stop_playing()
        self.hosts = hosts
        self.windows = windows or {}
        self.policies = {}
        self.view = None
        self.query_text = ""
        self.speed_index = DEFAULT_SPEED
        self.status_note = ""
        self._followed = None
        self._banner = ""
        self.set_class(False, "-filtering")
        self._started = False
        self._status_text = None  # a new, empty transport bar
        await self.recompose()
        self._start()

    # ------------------------------------------------------------- accessors

    @property
    def timeline(self) -> Timeline:
        return self.query_one("#timeline", Timeline)

    async def filter_input(self) -> Input:
        """The filter box, mounted (with its help line) the first time it is asked for.

        Hidden until ``/`` and most sessions never filter: composed at start, its widgets
        and Input's styles cost the first frame several milliseconds.
        """
        try:
            return self.query_one("#filter", Input)
        except NoMatches:
            pass
        box = Input(placeholder="filter: host:server layer:recv verdict:block filter:no-web packet:syn",
                    id="filter")
        await self.query_one("#timeline-box").mount(box, Static(QUERY_HELP, id="filter-help"),
                                                    before="#timeline-header")
        return box

    def pane(self, host: str) -> HostPane | None:
        for pane in self.query(HostPane):
            if pane.host == host:
                return pane
        return None

    # ------------------------------------------------------------------ data

    def show_run(self, view: RunView, cursor_index: int | None = None,
                 policies: Mapping[str, Policy] | None = None) -> None:
        """Show a run (new or re-run); the cursor goes to record ``cursor_index``; ``policies``:
        each host's policy at the start of the run (kept from before when not given)."""
        if policies is not None:
            self.policies = dict(policies)
        if not self._started:  # not composed yet: shown as it mounts
            self._initial_view, self._initial_cursor = view, cursor_index or 0
            return
        self.view = view
        for host in view.hosts:
            if self.pane(host) is None:
                self.query_one("#hosts", Horizontal).mount(HostPane(host, id=f"pane-{host}"))
        for pane in self.query(HostPane):
            pane.show(view.layer_order.get(pane.host, []), view.counts.get(pane.host, {}), not view.indexed)
        box = self.query_one("#timeline-box")
        if view.is_capture:  # one line per captured event: observed beside simulated
            counts = view.capture_counts()
            box.border_subtitle = f"{len(view.observed_rows):,} events · " + " · ".join(
                f"{counts[v]} {v.replace('_', ' ')}" for v in ("differ", "unknown", "other_filter", "agree",
                                                              "not_simulated") if counts[v])
        else:
            box.border_subtitle = f"{len(view.records):,} events"
        self.query_one("#timeline-header", Static).update(self.timeline.header(view.is_capture))
        self.timeline.sim_unknown = view.sim_unknown
        self.timeline.capture = view.is_capture
        self._apply_filter(cursor_index)

    def _apply_filter(self, cursor_index: int | None) -> None:
        view = self.view
        if view is None:
            return
        try:
            query = parse_query(self.query_text, view.hosts)
        except QueryError:
            query = Query()
        if not query:
            self.timeline.set_data(view.records, view.base_rows, view.flipped, cursor_index)
            self._follow_cursor()
        elif len(view.records) > _THREADED_FILTER:
            self._filter_worker(view, query, cursor_index)
        else:
            rows = _only_base(view, filter_indexes(view.records, query, view.flipped))
            self.timeline.set_data(view.records, rows, view.flipped, cursor_index)
            self._follow_cursor()

    class Filtered(Message):
        """A big timeline was filtered in a thread (``on_main_screen_filtered``)."""

        def __init__(self, view: RunView, rows: list[int], cursor_index: int | None) -> None:
            super().__init__()
            self.view = view
            self.rows = rows
            self.cursor_index = cursor_index

    @work(thread=True, exclusive=True, group="timeline-filter", exit_on_error=False,
          description="filter the timeline")
    def _filter_worker(self, view: RunView, query: Query, cursor_index: int | None) -> None:
        self.post_message(self.Filtered(view, _only_base(view, filter_indexes(view.records, query, view.flipped)),
                                        cursor_index))

    @on(Filtered)
    def _filtered(self, message: Filtered) -> None:
        if message.view is self.view:
            self.timeline.set_data(message.view.records, message.rows, message.view.flipped, message.cursor_index)
            self._follow_cursor()

    @on(Timeline.ColumnsChanged, "#timeline")
    def _columns_changed(self) -> None:
        self.query_one("#timeline-header", Static).update(
            self.timeline.header(self.view is not None and self.view.is_capture))

    @on(HostPane.LayerChosen)
    def _layer_chosen(self, event: HostPane.LayerChosen) -> None:
        """Enter or a click on a host pane's layer: the timeline shows that host and layer."""
        self.filter_to_layer(event.host, event.layer)

    def filter_to_layer(self, host: str, layer: str) -> None:
        """Filter the timeline to ``host`` and exactly ``layer`` (query terms, shown in the status bar).

        ``layer:`` matches substrings, so layers of the host whose names contain this one
        (``…_V4`` in ``…_V4_DISCARD``) are left out with ``-layer:`` terms.
        """
        pane = self.pane(host)
        others = [n for n in (pane.layer_names if pane is not None else []) if n != layer and layer in n]
        self.query_text = " ".join([f"host:{host}", f"layer:{layer}", *(f"-layer:{n}" for n in others)])
        self._apply_filter(self.timeline.current_index)

    @on(Timeline.CursorMoved, "#timeline")
    def _cursor_moved(self, event: Timeline.CursorMoved) -> None:
        followed = self._followed
        if followed is None or followed[0] is not self.view or followed[1] != event.index:
            self._follow(event.index)
        if self.playing and self.timeline.at_end:
            self._stop_playing()
        self.update_status()

    def _follow_cursor(self) -> None:
        """Panes, inspector and transport bar follow new timeline data at once (in the same
        frame), rather than on the ``CursorMoved`` message that ``set_data`` also posts."""
        self._follow(self.timeline.current_index)
        self.update_status()

    def _follow(self, index: int | None) -> None:
        view = self.view
        self._followed = (view, index)
        # a captured event lights the layer of its simulated classification
        record = view.partner(index) if view is not None and index is not None else None
        for pane in self.query(HostPane):
            pane.light(record)
        self.refresh_inspector()

    def refresh_inspector(self) -> None:
        """Show the event under the cursor in the inspector."""
        if not self._started:
            return  # shown as the screen mounts
        view = self.view
        index = self.timeline.current_index
        record = view.records[index] if view is not None and index is not None else None
        result = view.result_for(record) if view is not None and record is not None else None
        if view is not None and view.judge is not None and record is not None:
            verdict = view.judge(record)  # a captured event: its core.triage.EventVerdict
            if verdict is not None:
                result = verdict
        partner = partner_of(view.records, index) if view is not None and index is not None else None
        near = None  # issue 16 item 6: the classification's near misses, when they can be known
        if view is not None and index is not None and view.indexed:
            near = near_misses_at(record, result, view.records, view.policy_rows, index, self.policies,
                                  self.windows)
        self.query_one(Inspector).show(record, result, view is not None and index in view.flipped, partner, near)

    def update_status(self) -> None:
        """Refresh the transport bar."""
        tl = self.timeline
        view = self.view
        state = "▶ playing" if self.playing else "⏸ paused"
        parts = [state]
        if self.status_note:  # first: what the last save did must show at 80 columns
            parts.append(self.status_note)
        parts.append(f"{SPEEDS[self.speed_index]} ev/s")
        if view is None:
            parts.append("running…")
        else:
            index = tl.current_index
            shown = len(tl.rows)
            parts.append(f"event {tl.cursor + 1 if shown else 0:,}/{shown:,}")
            total = len(view.observed_rows) if view.is_capture else len(view.records)
            if shown != total:
                parts.append(f"(filtered from {total:,})")
            if index is not None:
                t = getattr(view.records[index], "t", None)
                if t is not None:
                    parts.append(f"t={t:.6f}s")
            if view.flipped:
                parts.append(f"Δ {view.flip_count} flipped")
            if view.ok is not None and not view.is_capture:
                parts.append("expectations ✔ pass" if view.ok else "expectations ✖ FAIL")
        if self.query_text:
            parts.append(f"filter: {self.query_text}")
        text = "  │  ".join(parts)
        if text != self._status_text:  # each update is a redraw (the cursor's message repeats it)
            self._status_text = text
            self.query_one("#status", Static).update(text, layout=False)

    def set_banner(self, text: str) -> None:
        """Show (or with "" hide) an error line above the transport bar."""
        self._banner = text
        if not self._started:
            return  # shown as the screen mounts
        banner = self.query_one("#banner", Static)
        banner.update(text)
        banner.set_class(bool(text), "-visible")

    # --------------------------------------------------------------- actions

    def action_toggle_play(self) -> None:
        if self.playing:
            self._stop_playing()
        else:
            if self.timeline.at_end:
                self.timeline.move_to(0)
            self.playing = True
            self._restart_timer()
        self.update_status()

    def _restart_timer(self) -> None:
        if self._play_timer is not None:
            self._play_timer.stop()
        self._play_timer = self.set_interval(1 / SPEEDS[self.speed_index], self._tick, name="playback")

    def _stop_playing(self) -> None:
        self.playing = False
        if self._play_timer is not None:
            self._play_timer.stop()
            self._play_timer = None

    def _tick(self) -> None:
        if self.timeline.at_end:
            self._stop_playing()
            self.update_status()
        else:
            self.timeline.move_to(self.timeline.cursor + 1)

    def action_step(self, delta: int) -> None:
        self.timeline.move_to(self.timeline.cursor + delta)

    def action_speed(self, delta: int) -> None:
        self.speed_index = max(0, min(len(SPEEDS) - 1, self.speed_index + delta))
        if self.playing:
            self._restart_timer()
        self.update_status()

    def action_jump_start(self) -> None:
        self.timeline.move_to(0)

    def action_jump_end(self) -> None:
        self.timeline.move_to(len(self.timeline.rows) - 1)

    def _jump_after(self, targets: list[int], what: str) -> None:
        import bisect

        current = self.timeline.current_index
        start = -1 if current is None else current
        i = bisect.bisect_right(targets, start)
        rows = self.timeline.rows
        while i < len(targets):
            row = self.timeline.row_of(targets[i])
            if rows and rows[row] == targets[i]:
                self.timeline.move_to(row)
                return
            i += 1
        self.app.notify(f"No further {what}.", timeout=2)

    def action_next_block(self) -> None:
        if self.view is not None and self._indexed():
            self._jump_after(self.view.block_rows, "block")

    def action_next_policy(self) -> None:
        if self.view is not None and self._indexed():
            self._jump_after(self.view.policy_rows, "policy change")

    def _indexed(self) -> bool:
        if self.view is not None and not self.view.indexed:
            self.app.notify("Still indexing the trace…", timeout=2)
            return False
        return True

    async def action_filter(self) -> None:
        box = await self.filter_input()
        self.set_class(True, "-filtering")
        box.value = self.query_text
        box.focus()

    def action_maximize_pane(self) -> None:
        """Zoom the focused pane to the whole screen, or back (``Screen.maximize``)."""
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        if focused is None or not self.maximize(focused, container=False):
            self.app.notify("Focus a pane (tab) to zoom it.", timeout=2)

    def action_widen_inspector(self, delta: int) -> None:
        """Move the split between the timeline side and the inspector by 4 columns."""
        inspector = self.query_one(Inspector)
        width = inspector.outer_size.width + 4 * delta
        # the left side keeps at least 40 columns, the inspector its minimum (app.tcss)
        inspector.styles.width = max(26, min(width, self.size.width - 40))

    def action_clear_filter(self) -> None:
        if self.maximized is not None:  # escape leaves the zoomed pane first
            self.minimize()
            return
        if self.query_text:
            self.query_text = ""
            self._apply_filter(self.timeline.current_index)

    # ---------------------------------------------------------------- filter

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        hosts = self.view.hosts if self.view else self.hosts
        help_line = self.query_one("#filter-help", Static)
        try:
            parse_query(event.value, hosts)
        except QueryError as exc:
            event.input.add_class("-invalid")
            help_line.add_class("-invalid")
            help_line.update(f"✖ col {exc.col}: {exc}")
        else:
            event.input.remove_class("-invalid")
            help_line.remove_class("-invalid")
            help_line.update("✔ " + QUERY_HELP)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        hosts = self.view.hosts if self.view else self.hosts
        try:
            parse_query(event.value, hosts)
        except QueryError as exc:
            self.app.notify(f"Filter not applied: {exc}", severity="error", timeout=3)
            return
        self.query_text = event.value.strip()
        self._close_filter()
        self._apply_filter(self.timeline.current_index)

    def _close_filter(self) -> None:
        self.set_class(False, "-filtering")
        self.timeline.focus()

    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        self._mark_focus_within()

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        self._mark_focus_within()

    def _mark_focus_within(self) -> None:
        """Light the timeline box while the focus is in it (timeline or filter box)."""
        for box in self.query("#timeline-box"):  # none while the screen is recomposed
            box.set_class(box.has_focus_within, "-focus-within")

    def on_key(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.key == "escape" and self.has_class("-filtering"):
            event.stop()
            self._close_filter()

    # ---------------------------------------------------------- for the app

    @property
    def cursor_record_t(self) -> float | None:
        view = self.view
        index = self.current_index
        if view is None or index is None:
            return None
        return getattr(view.records[index], "t", None)

    @property
    def current_index(self) -> int | None:
        """Record index under the cursor (the one to come while the screen is being composed)."""
        if not self._started:
            return self._initial_cursor if self._initial_view is not None else None
        return self.timeline.current_index

    @property
    def ready(self) -> bool:
        """Composed and showing a run: keys have something to act on (tui.keyhold)."""
        return self._started and self.view is not None

    @property
    def at_end(self) -> bool:
        return not self._started or self.timeline.at_end

    @property
    def running(self) -> bool:
        """Playback has started and not reached the end: changes apply at the cursor."""
        return self.view is not None and self.timeline.cursor > 0 and not self.timeline.at_end

    def selected_host(self) -> str | None:
        view = self.view
        index = self.current_index
        if view is None or index is None:
            return None
        record = view.records[index]
        return record.host if isinstance(record, ClassifyRecord) else getattr(record, "host", None)
