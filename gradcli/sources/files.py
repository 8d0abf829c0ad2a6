"""Program text from bytes: decoding as Python does (UTF-8, a BOM, a coding line) and
the SourceError for what cannot be read."""

from __future__ import annotations


class SourceError(Exception):
    """The input bytes are not a program (bad encoding, NUL byte): a syntax error, exit 3."""

    def __init__(self, message: str, line: int, column: int, source: str = ""):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column
        self.source = source  # the bytes decoded with replacement characters, to show


def decode_source(data: bytes) -> str:
    if b"\x00" in data:
        offset = data.index(b"\x00")
        line = data.count(b"\n", 0, offset) + 1
        raise SourceError(
            f"source code cannot contain null bytes (byte offset {offset})",
            line,
            offset - (data.rfind(b"\n", 0, offset) + 1) + 1,
        )
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        # The column counts characters (as the line is shown, with U+FFFD for bad bytes);
        # the message gives the byte's position in the file.
        column = len(data[line_start:exc.start].decode("utf-8", "replace")) + 1
        shown = data.decode("utf-8-sig", "replace").replace("\r\n", "\n").replace("\r", "\n")
        raise SourceError(
            f"(unicode error) 'utf-8' codec can't decode byte 0x{data[exc.start]:02x} in "
            f"position {exc.start}: {exc.reason}",
            line,
            column,
            shown,
        ) from None
