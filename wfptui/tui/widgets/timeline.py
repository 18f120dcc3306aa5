"""The timeline: every event of a run, one line each, rendered only where visible.

A Line API widget (``ScrollView`` + ``render_line``, as toolong does): it holds the
record list and a list of row → record indexes (the filter's result), and builds a
strip for each visible row on demand. A million records cost two lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from wfptui.core.trace import ClassifyRecord, ObservedRecord, TraceRecord
from wfptui.tui.names import short_layer
from wfptui.tui.render import (
    FLIP_MARK,
    capture_verdict,
    detail_of,
    observed_action,
    observed_detail,
    partner_of,
    simulated_action,
    verdict_of,
    what_of,
    where_of,
)

#: Column widths: mark, seq, t, host, layer/kind, packet, verdict.
_W_SEQ, _W_T, _W_HOST, _W_WHERE, _W_WHAT, _W_VERDICT = 7, 9, 7, 28, 15, 9
#: Width of everything before the detail column, plus room for the detail.
LINE_WIDTH = 1 + _W_SEQ + _W_T + _W_HOST + _W_WHERE + _W_WHAT + _W_VERDICT + 6 + 40
HEADER = (
    f" {'seq':>{_W_SEQ}} {'t (s)':>{_W_T}} {'host':<{_W_HOST}} {'layer / event':<{_W_WHERE}} "
    f"{'packet':<{_W_WHAT}} {'verdict':<{_W_VERDICT}} filter / detail"
)
#: A capture's events (``observed`` records): what the machine did beside what the policy does.
_W_CAPTURE_VERDICT = 14
_W_CAPTURE_WHAT = 9  # "SYN out", "listen": narrower, so the verdict fits beside the inspector
CAPTURE_HEADER = (
    f" {'seq':>{_W_SEQ}} {'t (s)':>{_W_T}} {'host':<{_W_HOST}} {'layer / event':<{_W_WHERE}} "
    f"{'packet':<{_W_CAPTURE_WHAT}} {'observed':<{_W_VERDICT}} {'simulated':<{_W_VERDICT}} "
    f"{'verdict':<{_W_CAPTURE_VERDICT}} filters (observed · simulated), unknown fields"
)
#: Layer column width and header of the compact layout (no time column; side-by-side diffs).
_W_WHERE_COMPACT = 24
HEADER_COMPACT = (
    f" {'seq':>{_W_SEQ}} {'host':<{_W_HOST}} {'layer / event':<{_W_WHERE_COMPACT}} "
    f"{'packet':<{_W_WHAT}} {'verdict':<{_W_VERDICT}} filter / detail"
)


#: Below this content width the timeline drops columns (narrow layout): the time first,
#: then the packet; the layer names shorten (``tui.names``). Seq, host, layer, the
#: verdict and the deciding filter always stay (issue 16: usable at 80×24).
FULL_WIDTH = 1 + _W_SEQ + 1 + _W_T + 1 + _W_HOST + 1 + _W_WHERE + 1 + _W_WHAT + 1 + _W_VERDICT + 1 + 12
#: The narrow layout's layer column (fits RECV_ACCEPT_V4, IN_TRANSPORT_V4) and its
#: shortest packet column; the deciding filter keeps at least _W_DETAIL_MIN.
_W_WHERE_NARROW, _W_WHAT_NARROW, _W_DETAIL_MIN = 15, 8, 12


def narrow_columns(width: int, seq_digits: int, host_width: int) -> tuple[int, int, int, int]:
    """(seq, host, layer, packet) widths of the narrow layout for ``width`` (packet 0: dropped)."""
    w_seq = max(3, min(_W_SEQ, seq_digits))
    w_host = max(4, min(_W_HOST, host_width))
    fixed = 1 + w_seq + 1 + w_host + 1 + _W_WHERE_NARROW + 1 + _W_VERDICT + 1
    w_what = _W_WHAT_NARROW if width - fixed - (_W_WHAT_NARROW + 1) >= _W_DETAIL_MIN else 0
    # still short of room for the filter: the layer column shrinks to the table's short forms
    w_where = _W_WHERE_NARROW - max(0, min(2, _W_DETAIL_MIN - (width - fixed))) if not w_what else _W_WHERE_NARROW
    return w_seq, w_host, w_where, w_what


#: A capture's full layout needs this content width (every column before the filters);
#: below it, the narrow capture layout: no time, no packet, the host only when there is
#: room, short layer names; the observed and simulated actions and the verdict (mark and
#: word) always stay (issue 16: 80×24).
CAPTURE_FULL_WIDTH = (1 + _W_SEQ + 1 + _W_T + 1 + _W_HOST + 1 + _W_WHERE + 1 + _W_CAPTURE_WHAT + 1
                      + 2 * (_W_VERDICT + 1) + _W_CAPTURE_VERDICT + 1)
#: The narrow capture layout's action and verdict columns ("✔ permit", "? UNKNOWN") and its
#: layer column's widest and narrowest forms (CONNECT_V4, CONN_V4).
_W_ACTION_NARROW, _W_CAPTURE_VERDICT_NARROW = 8, 9
_W_WHERE_CAPTURE, _W_WHERE_CAPTURE_MIN = 15, 10
#: Shorter words for the narrow capture verdict column (the mark stays the same).
_NARROW_VERDICT_WORDS = {"other_filter": "OTHER", "not_simulated": "no sim"}


def capture_narrow_columns(width: int, seq_digits: int, host_width: int) -> tuple[int, int, int]:
    """(seq, host, layer) widths of the narrow capture layout for ``width`` (host 0: dropped).

    The actions and the verdict are fixed; the layer column shrinks to its short forms
    first, then the host goes; the filters get what is left.
    """
    w_seq = max(3, min(_W_SEQ, seq_digits))
    fixed = 1 + w_seq + 1 + 2 * (_W_ACTION_NARROW + 1) + _W_CAPTURE_VERDICT_NARROW + 1
    w_host = max(4, min(_W_HOST, host_width))
    room = width - fixed - _W_DETAIL_MIN
    if room >= w_host + 1 + _W_WHERE_CAPTURE_MIN + 1:
        return w_seq, w_host, max(_W_WHERE_CAPTURE_MIN, min(_W_WHERE_CAPTURE, room - w_host - 2))
    return w_seq, 0, max(_W_WHERE_CAPTURE_MIN, min(_W_WHERE_CAPTURE, width - fixed - 1 - 1))


def _fit(text: str, width: int) -> str:
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.ljust(width)


class Timeline(ScrollView, can_focus=True):
    """All events of a run; the cursor row is the selected event.

    Posts :class:`Timeline.CursorMoved` when the cursor moves.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        # The screen's transport owns these (ScrollView would scroll sideways / to the ends).
        Binding("right", "screen.step(1)", "Step", show=False),
        Binding("left", "screen.step(-1)", "Back", show=False),
        Binding("home", "screen.jump_start", "Start", show=False),
        Binding("end", "screen.jump_end", "End", show=False),
    ]
    """
    | Key | Action |
    | :- | :- |
    | up / k | Select the previous event. |
    | down / j | Select the next event. |
    | pageup / pagedown | Move a page. |
    | left / right / home / end | The screen's step back / step / start / end. |
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--cursor", "timeline--flip", "timeline--dim", "timeline--reauth", "timeline--permit",
        "timeline--block", "timeline--discard", "timeline--policy", "timeline--net",
    }
    #: Style keys (verdict keys and marks) drawn like another one: one component class
    #: per distinct look, since Textual styles each class again at every restyle.
    STYLE_ALIASES: ClassVar[dict[str, str]] = {
        "none": "dim", "stack": "dim", "pass": "permit", "fail": "block", "audit": "net", "diverge": "flip",
        # a captured event's verdict (render.CAPTURE_VERDICTS)
        "agree": "permit", "differ": "block", "unknown": "reauth", "other_filter": "discard",
        "not_simulated": "dim",
    }

    class ColumnsChanged(Message):
        """The width switched between the full and the narrow layout: the header follows."""

        def __init__(self, timeline: Timeline) -> None:
            super().__init__()
            self.timeline = timeline

        @property
        def control(self) -> Timeline:
            return self.timeline

    cursor: reactive[int] = reactive(0, init=False, repaint=False)
    """Row (in the filtered view) of the selected event."""

    class CursorMoved(Message):
        """The selected event changed (``on_timeline_cursor_moved``)."""

        def __init__(self, timeline: Timeline, row: int, index: int | None) -> None:
            super().__init__()
            self.timeline = timeline
            self.row = row
            self.index = index  # record index, None when the view is empty

        @property
        def control(self) -> Timeline:
            return self.timeline

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 compact: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.compact = compact  # no time column, narrower layer column
        self.records: Sequence[TraceRecord] = ()
        self.rows: Sequence[int] = ()
        self.flipped: set[int] = set()
        self.marked: set[int] = set()  # extra rows to mark (diff view: differing records)
        self.sim_unknown: set[int] = set()  # observed records whose simulated action is unknown
        self._styles: dict[str, Style] = {}
        # record index -> (base style, its line in that style, no cursor): a line is built once,
        # not at every frame (the strip keeps its own crops)
        self._lines: LRUCache[int, tuple[Style, Strip]] = LRUCache(2048)
        self.show_cursor = True
        #: (seq, host, layer, packet) widths of the narrow layout, None for the full one
        self.narrow: tuple[int, int, int, int] | None = None
        #: a capture's timeline (set by the screen before ``set_data``): its own columns
        self.capture = False
        #: (seq, host, layer) widths of a capture's narrow layout, None for its full one
        self.capture_narrow: tuple[int, int, int] | None = None

    # ------------------------------------------------------------------ data

    def set_data(self, records: Sequence[TraceRecord], rows: Sequence[int] | None = None,
                 flipped: set[int] | None = None, cursor_index: int | None = None) -> None:
        """Show ``records`` through ``rows`` (default: all); put the cursor on ``cursor_index``."""
        self.records = records
        self.rows = range(len(records)) if rows is None else rows
        self.flipped = flipped or set()
        self._lines.clear()
        self._choose_columns()
        self.virtual_size = Size(LINE_WIDTH, len(self.rows))
        row = self.row_of(cursor_index) if cursor_index is not None else 0
        self._set_cursor(row, force=True)
        self.refresh()

    def row_of(self, index: int) -> int:
        """The view row showing record ``index``, or the first row after it."""
        rows = self.rows
        if isinstance(rows, range):
            return max(0, min(index, len(rows) - 1))
        import bisect

        return max(0, min(bisect.bisect_left(rows, index), len(rows) - 1))

    @property
    def current_index(self) -> int | None:
        """Record index under the cursor."""
        if not self.rows:
            return None
        return self.rows[min(self.cursor, len(self.rows) - 1)]

    @property
    def at_end(self) -> bool:
        return not self.rows or self.cursor >= len(self.rows) - 1

    def move_to(self, row: int) -> None:
        """Put the cursor on ``row`` (clamped) and scroll it into view."""
        self._set_cursor(row)

    def _set_cursor(self, row: int, force: bool = False) -> None:
        row = max(0, min(row, len(self.rows) - 1)) if self.rows else 0
        old = self.cursor
        changed = row != old
        self.set_reactive(Timeline.cursor, row)
        top = int(self.scroll_offset.y)
        self._scroll_to_cursor()
        if force or int(self.scroll_offset.y) != top:
            self.refresh()
        elif changed:  # only the two rows whose highlight changed
            self.refresh_line(old)  # virtual rows: ScrollView subtracts the scroll offset
            self.refresh_line(row)
        if changed or force:
            self.post_message(self.CursorMoved(self, row, self.current_index))

    def _scroll_to_cursor(self) -> None:
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def on_resize(self, _event: events.Resize) -> None:
        self._scroll_to_cursor()
        self._choose_columns()

    def _choose_columns(self) -> None:
        width = self.scrollable_content_region.width
        narrow = None
        capture_narrow = None
        hosts = {getattr(self.records[i], "host", "") for i in range(min(len(self.records), 200))}
        host_width = max((len(h) for h in hosts), default=4)
        if self.capture:
            if not self.compact and 0 < width < CAPTURE_FULL_WIDTH:
                last = getattr(self.records[-1], "seq", 0) if self.records else 0
                capture_narrow = capture_narrow_columns(width, len(str(last)), host_width)
        elif not self.compact and 0 < width < FULL_WIDTH:
            narrow = narrow_columns(width, len(str(len(self.records))), host_width)
        if narrow != self.narrow or capture_narrow != self.capture_narrow:
            self.narrow = narrow
            self.capture_narrow = capture_narrow
            self._lines.clear()
            self.refresh()
            self.post_message(self.ColumnsChanged(self))

    def header(self, capture: bool = False) -> str:
        """The header line for the current layout."""
        if capture:
            if self.capture_narrow is None:
                return CAPTURE_HEADER
            w_seq, w_host, w_where = self.capture_narrow
            host = f"{'host':<{w_host}} " if w_host else ""
            return (f" {'seq':>{w_seq}} {host}{'layer':<{w_where}} {'observed':<{_W_ACTION_NARROW}} "
                    f"{'simulat.':<{_W_ACTION_NARROW}} {'verdict':<{_W_CAPTURE_VERDICT_NARROW}} filters")
        if self.compact:
            return HEADER_COMPACT
        if self.narrow is None:
            return HEADER
        w_seq, w_host, w_where, w_what = self.narrow
        packet = f"{'packet':<{w_what}} " if w_what else ""
        return (f" {'seq':>{w_seq}} {'host':<{w_host}} {'layer':<{w_where}} {packet}"
                f"{'verdict':<{_W_VERDICT}} filter")

    # --------------------------------------------------------------- actions

    def action_cursor_up(self) -> None:
        self._set_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self._set_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self._set_cursor(self.cursor - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self._set_cursor(self.cursor + max(1, self.scrollable_content_region.height - 1))

    def on_click(self, event: events.Click) -> None:
        self._set_cursor(int(self.scroll_offset.y) + event.y)

    # ------------------------------------------------------------- rendering

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._lines.clear()

    def _style(self, key: str) -> Style:
        style = self._styles.get(key)
        if style is None:
            style = self.get_component_rich_style(f"timeline--{self.STYLE_ALIASES.get(key, key)}")
            if key == "cursor":  # only the background, so verdict colours show through
                style = Style(bgcolor=style.bgcolor, bold=style.bold)
            self._styles[key] = style
        return style

    def line_segments(self, index: int) -> list[Segment]:
        """The segments of one record's line (no cursor, no crop)."""
        record = self.records[index]
        if isinstance(record, ObservedRecord):
            return self._observed_segments(index, record)
        key, word, symbol = verdict_of(record)
        flipped = index in self.flipped
        marked = index in self.marked
        mark = FLIP_MARK if flipped else ("≠" if marked else " ")
        seq = getattr(record, "seq", index)
        t = getattr(record, "t", None)
        host = getattr(record, "host", "")
        what = what_of(record)
        if isinstance(record, ClassifyRecord) and record.reauth:
            what += " ↻reauth"
        dim = self._style("dim")
        verdict_style = self._style(key)
        if self.narrow is not None:  # narrow: no time, maybe no packet, short layer names
            w_seq, w_host, w_where, w_what = self.narrow
            where = (short_layer(record.layer, w_where) if isinstance(record, ClassifyRecord)
                     else where_of(record))
            return [
                Segment(mark, self._style("flip") if flipped else (self._style("diverge") if marked else dim)),
                Segment(f"{seq:>{w_seq}} ", dim),
                Segment(_fit(host, w_host) + " "),
                Segment(_fit(where, w_where) + " "),
                *([Segment(_fit(what, w_what) + " ", self._style("reauth") if "↻" in what else Style())]
                  if w_what else []),
                Segment(_fit(f"{symbol} {word}", _W_VERDICT) + " ", verdict_style),
                Segment(detail_of(record)),
            ]
        if self.compact:
            when = []
        else:
            when = [Segment(f"{t:>{_W_T}.6f} " if t is not None else " " * (_W_T + 1), dim)]
        return [
            Segment(mark, self._style("flip") if flipped else (self._style("diverge") if marked else dim)),
            Segment(f"{seq:>{_W_SEQ}} ", dim),
            *when,
            Segment(_fit(host, _W_HOST) + " "),
            Segment(_fit(where_of(record), _W_WHERE_COMPACT if self.compact else _W_WHERE) + " "),
            Segment(_fit(what, _W_WHAT) + " ", self._style("reauth") if "↻" in what else Style()),
            Segment(_fit(f"{symbol} {word}", _W_VERDICT) + " ", verdict_style),
            Segment(detail_of(record)),
        ]

    def _observed_segments(self, index: int, record: ObservedRecord) -> list[Segment]:
        """A captured event: observed, simulated, the verdict with its mark, the filters."""
        partner = partner_of(self.records, index)
        mark, word, vkey = capture_verdict(record.verdict)
        flipped = index in self.flipped
        okey, oword, osym = observed_action(record)
        skey, sword, ssym = simulated_action(partner, index in self.sim_unknown)
        dim = self._style("dim")
        first = Segment(FLIP_MARK if flipped else (mark if mark != "=" else " "),
                        self._style("flip") if flipped else self._style(vkey))
        detail = Segment(observed_detail(record, partner), dim if record.verdict == "agree" else Style())
        if self.capture_narrow is not None:  # narrow: no time, no packet, maybe no host
            w_seq, w_host, w_where = self.capture_narrow
            where = short_layer(partner.layer, w_where) if partner is not None else record.type
            vword = _NARROW_VERDICT_WORDS.get(record.verdict, word)
            return [
                first,
                Segment(f"{record.seq:>{w_seq}} ", dim),
                *([Segment(_fit(record.host, w_host) + " ")] if w_host else []),
                Segment(_fit(where, w_where) + " "),
                Segment(_fit(f"{osym} {oword}", _W_ACTION_NARROW) + " ", self._style(okey)),
                Segment(_fit(f"{ssym} {sword}", _W_ACTION_NARROW) + " ", self._style(skey)),
                Segment(_fit(f"{mark} {vword}", _W_CAPTURE_VERDICT_NARROW) + " ", self._style(vkey)),
                detail,
            ]
        t = record.t
        when = [] if self.compact else [Segment(f"{t:>{_W_T}.6f} ", dim)]
        where = partner.layer if partner is not None else record.type
        what = what_of(partner) if partner is not None else "-"
        return [
            first,
            Segment(f"{record.seq:>{_W_SEQ}} ", dim),
            *when,
            Segment(_fit(record.host, _W_HOST) + " "),
            Segment(_fit(where, _W_WHERE_COMPACT if self.compact else _W_WHERE) + " "),
            Segment(_fit(what, _W_CAPTURE_WHAT) + " "),
            Segment(_fit(f"{osym} {oword}", _W_VERDICT) + " ", self._style(okey)),
            Segment(_fit(f"{ssym} {sword}", _W_VERDICT) + " ", self._style(skey)),
            Segment(_fit(f"{mark} {word}", _W_CAPTURE_VERDICT) + " ", self._style(vkey)),
            detail,
        ]

    def line_text(self, index: int) -> str:
        """Record ``index``'s line as plain text (tests)."""
        return "".join(seg.text for seg in self.line_segments(index))

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = int(scroll_y) + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if row >= len(self.rows):
            return Strip.blank(width, base)
        index = self.rows[row]
        cached = self._lines.get(index)
        if cached is not None and cached[0] == base:
            line = cached[1]
        else:
            line = Strip(list(Segment.apply_style(self.line_segments(index), base)))
            self._lines[index] = (base, line)
        strip = line.crop_extend(int(scroll_x), int(scroll_x) + width, base)
        if row == self.cursor and self.show_cursor:  # the highlight spans the whole row
            strip = Strip(list(Segment.apply_style(strip, None, self._style("cursor"))), strip.cell_length)
        return strip
